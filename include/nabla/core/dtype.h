#pragma once
/// Element types of a tensor.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nabla {

/// Element type. Float32 is the default; Int64 holds indices and labels and takes no gradient.
enum class DType : std::uint8_t { Float32, Float64, Int64 };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;

/// Bytes per element.
constexpr std::size_t element_size(DType d) { return d == DType::Float32 ? 4 : 8; }
/// "float32", "float64" or "int64".
constexpr std::string_view dtype_name(DType d) {
  return d == DType::Float32 ? "float32" : d == DType::Float64 ? "float64" : "int64";
}
/// True for the dtypes that can carry gradients.
constexpr bool is_floating(DType d) { return d != DType::Int64; }

/// The DType of a C++ element type (float, double, int64_t).
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }

}  // namespace nabla
