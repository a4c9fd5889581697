#pragma once
/// \file
/// The human output: the "Without pooling | With pooling | Improvement"
/// tables users know from the connection-pooling write-up (sequential and
/// concurrent), a table of every scenario run, and their notes.

#include <cstdio>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace uvdb::bench {

/// What the header says about the run.
struct run_header {
    std::string target;  ///< the connection, password masked
    std::string source;  ///< where it came from
    std::string server;  ///< "PostgreSQL 15.18, TLSv1.3, max_connections=120"
    std::string pool;    ///< "pool(20,40,pre_ping,recycle=3600,overflow_delay=auto), timeout 30 s"
};

/// Prints the header, the comparison tables (for the pairs that ran), the
/// per-scenario table, notes and the first error of each failure category.
void print_report(std::FILE* out, const run_header& header,
                  const std::vector<scenario_result>& results);

/// A plain text table with a header row, printed as Markdown.
class text_table {
  public:
    explicit text_table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    /// Columns from `first_right` on are right-aligned (numbers).
    void print(std::FILE* out, std::size_t first_right = 1) const;

  private:
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace uvdb::bench
