#include "integration/support/stream_support.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>

#include "integration/support/test_env.hpp"

namespace uvdb::test {

template <class Chunk>
result<std::optional<Chunk>> next_sync(event_loop& loop, basic_stream<Chunk>& s,
                                       std::chrono::milliseconds deadline) {
    auto slot = std::make_shared<std::optional<result<std::optional<Chunk>>>>();
    s.next([slot](result<std::optional<Chunk>> r) { slot->emplace(std::move(r)); });
    run_until(
        loop, [&] { return slot->has_value(); }, deadline, "the next chunk");
    return std::move(**slot);
}
template result<std::optional<result_set>> next_sync(event_loop&, basic_stream<result_set>&,
                                                     std::chrono::milliseconds);
template result<std::optional<std::string>> next_sync(event_loop&, basic_stream<std::string>&,
                                                      std::chrono::milliseconds);

std::int64_t test_scale() {
    const char* v = std::getenv("UVDB_TEST_SCALE");
    const std::int64_t n = v != nullptr ? std::atoll(v) : 1;
    return n < 1 ? 1 : n;
}

backend_activity activity_of(event_loop& loop, std::int64_t pid) {
    auto admin = connect_or_fail(loop, admin_options());
    auto r = query_sync(loop, *admin,
                        "SELECT coalesce(state, ''), coalesce(wait_event, ''), query "
                        "FROM pg_stat_activity WHERE pid = $1::int",
                        make_params(pid));
    if (!r) fail_with("pg_stat_activity", r.err());
    if (r->empty()) return {};
    return {std::string((*r)[0].text(0)), std::string((*r)[0].text(1)),
            std::string((*r)[0].text(2))};
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

long current_rss_kib() {
    std::ifstream in("/proc/self/statm");
    long pages = 0;
    long resident = 0;
    in >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace uvdb::test
