#pragma once
/// Checkpoints in the safetensors format: an 8-byte little-endian header length, a JSON header
/// {"name": {"dtype": "F32"|"F64"|"I64", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}},
/// then the raw little-endian data. Files move both ways between nabla and the Python ecosystem.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla::io {

/// Named tensors, in order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
/// Free-form string metadata (the header's "__metadata__").
using Metadata = std::map<std::string, std::string>;

/// The contents of a safetensors file: tensors in data order, and metadata.
struct SafetensorsFile {
  NamedTensors tensors;
  Metadata metadata;
};

/// Writes tensors (float32, float64, int64; names unique and non-empty) and metadata to path atomically:
/// a temporary file in the same directory, fsync, rename, fsync of the directory. On failure the
/// previous file is intact and no temporary file is left.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});
/// Same, from a map (tensors written in the map's order). A template so that a braced list picks the overload above.
template <class Compare>
void save_safetensors(const std::string& path, const std::map<std::string, Tensor, Compare>& tensors,
                      const Metadata& metadata = {}) {
  save_safetensors(path, NamedTensors(tensors.begin(), tensors.end()), metadata);
}

/// Reads a whole file, validating the header (length, JSON, dtypes, shapes, offsets in range,
/// non-overlapping and covering the data) before allocating any tensor.
SafetensorsFile load_safetensors(const std::string& path);

/// Reads only the header's metadata (validating the whole header).
Metadata load_safetensors_metadata(const std::string& path);

/// Copies the file's tensors into `tensors` (e.g. a model's parameters) after checking that names,
/// shapes and dtypes match exactly; with strict, the file may hold no other tensors. One nabla::Error
/// lists every missing, unexpected and mismatched tensor; on error no tensor is modified.
/// Returns the file's metadata.
Metadata load_into(const std::string& path, const NamedTensors& tensors, bool strict = true);

namespace detail {
/// Testing hook: the next save fails (as a full disk would) after writing this many bytes; -1: off.
void fail_next_save_after_bytes(std::int64_t bytes);
}  // namespace detail

}  // namespace nabla::io
