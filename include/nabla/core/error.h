#pragma once
/// nabla::Error: every misuse of the library is reported by throwing one.
#include <stdexcept>
#include <string>

namespace nabla {

/// The one exception type nabla throws for bad arguments and misuse. Its message names the
/// operation, the offending values and what would have been valid.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace nabla
