// Built by tests/install_consumer/Makefile with plain make and
// `pkg-config --cflags --libs uvdb-pool uvdb-postgres`, as a project without
// CMake would: the .pc files must name every header path and library.
// Creating a pool opens nothing (min_idle 0), so no server is needed; the
// driver and the pool are still linked in and run.
#include <cstdio>
#include <uvdb/pool.hpp>
#include <uvdb/postgres/driver.hpp>

int main() {
    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = "postgresql://nobody@127.0.0.1:1/none";
    opts.size = 2;
    uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
    const auto stats = db.stats();
    db.close();
    loop.run();
    if (stats.idle != 0 || stats.connecting != 0) {
        std::fprintf(stderr, "a new pool with min_idle 0 already holds connections\n");
        return 1;
    }
    std::printf("pkg-config consumer: pool over the PostgreSQL driver created and closed\n");
    return 0;
}
