// quickstart: connect, run one query with bound parameters, print the rows.
//
//   quickstart
//   'postgresql://user:password@localhost:5432/db?sslmode=verify-full&sslrootcert=ca.crt'
//   DATABASE_URL=... quickstart
//
// Callback style: every operation takes a completion callback that receives a
// result (the value or an uvdb::error). Callbacks run on the loop thread.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("DATABASE_URL");
    if (url == nullptr || *url == '\0') {
        std::fprintf(stderr,
                     "usage: %s postgresql://user:password@host:port/db  (or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }

    uvdb::event_loop loop;  // owns a libuv loop; pass your uv_loop_t* to use your own
    auto driver = uvdb::postgres::make_driver();

    uvdb::connect_options opts;
    opts.url = url;
    opts.application_name = "uvdb-quickstart";
    opts.connect_timeout = std::chrono::seconds(10);

    int exit_code = 1;
    std::unique_ptr<uvdb::connection> conn;
    auto fail = [&](const uvdb::error& e) {
        // Errors never contain the password, so they are safe to print and log.
        std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
        exit_code = 1;
        conn.reset();  // closes the connection
    };

    conn = driver->connect(loop, opts, [&](uvdb::result<void> connected) {
        if (!connected) return fail(connected.err());
        std::printf("connected: %s\n", conn->describe().c_str());

        conn->query("SELECT $1::int AS n, $2::text AS greeting, now() AS at",
                    uvdb::make_params(42, "hello"), [&](uvdb::result<uvdb::result_set> r) {
                        if (!r) return fail(r.err());
                        const uvdb::result_set& rows = *r;
                        for (std::size_t c = 0; c < rows.columns(); ++c) {
                            std::printf("%s%s (%s)", c ? " | " : "",
                                        std::string(rows.column_name(c)).c_str(),
                                        std::string(rows.column_type_name(c)).c_str());
                        }
                        std::printf("\n");
                        try {
                            for (const uvdb::row row : rows) {
                                std::printf("%d | %s | %s\n", row.get<int>("n"),
                                            row.get<std::string>("greeting").c_str(),
                                            std::string(row.text(2)).c_str());
                            }
                        } catch (const uvdb::conversion_exception& e) {
                            return fail(e.err());  // never let an exception cross the loop
                        }
                        std::printf("affected rows: %llu\n",
                                    static_cast<unsigned long long>(rows.affected_rows()));
                        exit_code = 0;
                        conn.reset();  // closing from inside a callback is fine
                    });
    });

    loop.run();  // returns when nothing is left to do
    return exit_code;
}
