// uvdb-libpq-pipeline: a yardstick for uvdb's pipelining, written against
// libpq alone. One thread polls C connections; each keeps D prepared
// `SELECT 1` in flight in libpq's pipeline mode, with a Sync behind every G
// statements (G = 1 is what uvdb's pool.query does: one statement's failure
// never touches another). It prints statements per second and the client's
// CPU per statement, so scripts/bench-compare.sh can set uvdb beside what
// the same protocol costs with no framework at all — pgbench cannot put a
// Sync behind each statement of a pipeline before PostgreSQL 17.
//
//   uvdb-libpq-pipeline URL [-c CONNECTIONS] [-d DEPTH] [-g PER_SYNC] [-n STATEMENTS]
//
// Output, one line: "statements=N seconds=S qps=Q client_cpu_us=U".

#include <libpq-fe.h>
#include <poll.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct options {
    const char* url = nullptr;
    int connections = 20;
    int depth = 16;
    int per_sync = 1;
    long statements = 200000;
};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "uvdb-libpq-pipeline: %s\n", what.c_str());
    std::exit(1);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> long {
            if (i + 1 >= argc) die(a + " needs a value");
            char* end = nullptr;
            const long v = std::strtol(argv[++i], &end, 10);
            if (*end != '\0' || v <= 0)
                die(a + " needs a positive number, not \"" + argv[i] + "\"");
            return v;
        };
        if (a == "-c") {
            o.connections = static_cast<int>(value());
        } else if (a == "-d") {
            o.depth = static_cast<int>(value());
        } else if (a == "-g") {
            o.per_sync = static_cast<int>(value());
        } else if (a == "-n") {
            o.statements = value();
        } else if (a == "-h" || a == "--help") {
            std::puts(
                "usage: uvdb-libpq-pipeline URL [-c CONNECTIONS] [-d DEPTH] [-g PER_SYNC] [-n "
                "STATEMENTS]");
            std::exit(0);
        } else if (o.url == nullptr && a[0] != '-') {
            o.url = argv[i];
        } else {
            die("unknown argument \"" + a + "\" (try -h)");
        }
    }
    if (o.url == nullptr) die("no URL given (try -h)");
    if (o.depth % o.per_sync != 0) die("-d must be a multiple of -g");
    return o;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct conn {
    PGconn* pg = nullptr;
    int in_flight = 0;  // statements sent and not answered
    int unsynced = 0;   // statements sent since the last Sync
};

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    std::vector<conn> conns(static_cast<std::size_t>(o.connections));
    for (conn& c : conns) {
        c.pg = PQconnectdb(o.url);
        if (PQstatus(c.pg) != CONNECTION_OK) die(std::string("connect: ") + PQerrorMessage(c.pg));
        PGresult* r = PQprepare(c.pg, "s", "SELECT 1", 0, nullptr);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die(std::string("prepare: ") + PQerrorMessage(c.pg));
        PQclear(r);
        if (PQsetnonblocking(c.pg, 1) != 0 || PQenterPipelineMode(c.pg) != 1)
            die(std::string("pipeline mode: ") + PQerrorMessage(c.pg));
    }
    long to_send = o.statements;
    long answered = 0;
    std::vector<pollfd> fds(conns.size());
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    auto top_up = [&](conn& c) {
        bool sent = false;
        while (to_send > 0 && c.in_flight < o.depth) {
            if (PQsendQueryPrepared(c.pg, "s", 0, nullptr, nullptr, nullptr, 0) != 1)
                die(std::string("send: ") + PQerrorMessage(c.pg));
            --to_send;
            ++c.in_flight;
            sent = true;
            if (++c.unsynced == o.per_sync || to_send == 0) {
                if (PQpipelineSync(c.pg) != 1) die(std::string("sync: ") + PQerrorMessage(c.pg));
                c.unsynced = 0;
            }
        }
        if (sent && PQflush(c.pg) < 0) die(std::string("flush: ") + PQerrorMessage(c.pg));
    };
    for (conn& c : conns) top_up(c);
    while (answered < o.statements) {
        for (std::size_t i = 0; i < conns.size(); ++i) {
            fds[i] = pollfd{PQsocket(conns[i].pg), POLLIN, 0};
        }
        if (poll(fds.data(), fds.size(), 10000) <= 0) die("no answer for 10 s");
        for (std::size_t i = 0; i < conns.size(); ++i) {
            if ((fds[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
            conn& c = conns[i];
            if (PQconsumeInput(c.pg) != 1) die(std::string("read: ") + PQerrorMessage(c.pg));
            while (PQisBusy(c.pg) == 0) {
                PGresult* r = PQgetResult(c.pg);
                if (r == nullptr) continue;  // the end of one statement's results
                const ExecStatusType st = PQresultStatus(r);
                PQclear(r);
                if (st == PGRES_PIPELINE_SYNC) {
                    if (c.in_flight == 0) break;
                    continue;
                }
                if (st != PGRES_TUPLES_OK) die(std::string("statement: ") + PQerrorMessage(c.pg));
                --c.in_flight;
                ++answered;
                if (c.in_flight == 0) break;
            }
            top_up(c);
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    std::printf("statements=%ld seconds=%.3f qps=%.0f client_cpu_us=%.2f\n", o.statements, seconds,
                static_cast<double>(o.statements) / seconds,
                cpu * 1e6 / static_cast<double>(o.statements));
    for (conn& c : conns) PQfinish(c.pg);
    return 0;
}
