#pragma once
// Running a program the way a user would, for the end-to-end tests of the CLI and the examples:
// posix_spawn with stdout and stderr captured in files, the exit code or the killing signal kept.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace nabla::test {

/// The whole content of a file ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A fresh directory under the system's temporary directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "nabla_test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

/// How a finished process ended and what it printed.
struct ProcessResult {
  int code = -1;   // exit status, or -1 when killed by a signal (or not started)
  int signal = 0;  // the signal that killed it, if any
  std::string out, err;
};

/// A started process whose stdout and stderr go to files.
struct Child {
  pid_t pid = -1;
  std::filesystem::path out, err;
};

/// Starts `program args...` with stdin from /dev/null and output into files under `logs`.
inline Child spawn_program(const std::string& program, const std::vector<std::string>& args,
                           const std::filesystem::path& logs) {
  static int counter = 0;
  Child c;
  const std::string id = std::to_string(::getpid()) + "_" + std::to_string(counter++);
  c.out = logs / ("out_" + id);
  c.err = logs / ("err_" + id);
  std::vector<std::string> argv_s{program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (::posix_spawn(&c.pid, program.c_str(), &actions, nullptr, argv.data(), environ) != 0) c.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return c;
}

/// Waits for a started process and collects its output (the log files are removed).
inline ProcessResult wait_for(const Child& c) {
  ProcessResult r;
  if (c.pid < 0) return r;
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = slurp(c.out);
  r.err = slurp(c.err);
  std::filesystem::remove(c.out);
  std::filesystem::remove(c.err);
  return r;
}

/// Runs `program args...` to completion.
inline ProcessResult run_program(const std::string& program, const std::vector<std::string>& args) {
  static TempDir logs("nabla_test_logs");
  return wait_for(spawn_program(program, args, logs.path));
}

}  // namespace nabla::test
