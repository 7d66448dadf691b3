#pragma once
/// The seeded random generator behind rand, randn and the initialisers.
#include <cstdint>
#include <random>
#include <string>

namespace nabla {

/// Seeds the default generator, so that rand/randn/initialisers repeat run to run.
void manual_seed(std::uint64_t seed);
/// The default generator's full state as text (for checkpoints).
std::string get_rng_state();
/// Restores a state from get_rng_state(); throws nabla::Error on malformed text.
void set_rng_state(const std::string& state);

namespace detail {
/// The process-wide generator (mt19937_64); callers hold default_generator_mutex() while drawing.
std::mt19937_64& default_generator();
}  // namespace detail

}  // namespace nabla
