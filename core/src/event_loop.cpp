#include <spdlog/logger.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <uvdb/event_loop.hpp>
#include <uvdb/log.hpp>

#include "loop_state.hpp"

namespace uvdb {
namespace detail {

namespace {
// How many times one drain swaps the queue before yielding to I/O. Work that
// keeps deferring more work must not starve the poll phase.
constexpr int max_drain_rounds = 16;
}  // namespace

loop_state::loop_state(uv_loop_t* l) : loop(l) {
    // uv_now() is ms on libuv's monotonic clock (the same clock as steady_clock
    // on Linux); one offset taken here keeps now() and timers consistent.
    uv_update_time(loop);
    epoch = std::chrono::steady_clock::now() - std::chrono::milliseconds(uv_now(loop));

    int rc = uv_async_init(loop, &async, &on_async);
    if (rc != 0)
        throw std::runtime_error(std::string("uvdb: uv_async_init failed: ") + uv_strerror(rc));
    uv_prepare_init(loop, &prepare);
    uv_check_init(loop, &check);
    uv_idle_init(loop, &idle);
    async.data = prepare.data = check.data = idle.data = this;
    open_handles = 4;

    // uvdb must not keep the application's loop alive by itself: every handle
    // is unreferenced, and prepare/check are referenced only while work waits.
    uv_unref(reinterpret_cast<uv_handle_t*>(&async));
    uv_unref(reinterpret_cast<uv_handle_t*>(&prepare));
    uv_unref(reinterpret_cast<uv_handle_t*>(&check));
    uv_unref(reinterpret_cast<uv_handle_t*>(&idle));
    uv_prepare_start(&prepare, &on_prepare);
    uv_check_start(&check, &on_check);
}

void loop_state::defer(task fn) {
    if (dead) return;  // shutting down: `fn` is destroyed unrun
    queue.push_back(std::move(fn));
    if (!referenced) update_refs();
}

void loop_state::post(task fn) {
    std::lock_guard<std::mutex> lock(post_mutex);
    if (!accepting_posts) return;
    bool wake = posted.empty();
    posted.push_back(std::move(fn));
    // Sent under the lock so shutdown() cannot close the handle in between.
    if (wake) uv_async_send(&async);
}

void loop_state::adopt_posted() {
    std::lock_guard<std::mutex> lock(post_mutex);
    if (posted.empty()) return;
    for (auto& fn : posted) queue.push_back(std::move(fn));
    posted.clear();
    if (!referenced) update_refs();
}

void loop_state::update_refs() noexcept {
    bool want = !queue.empty();
    if (want == referenced) return;
    referenced = want;
    if (want) {
        // Referenced: the loop does not exit while work waits. The idle handle
        // makes libuv compute a zero poll timeout, so work deferred where no
        // drain follows before the poll (a user's prepare handle, a close
        // callback) does not wait for the next I/O event.
        uv_ref(reinterpret_cast<uv_handle_t*>(&prepare));
        uv_ref(reinterpret_cast<uv_handle_t*>(&check));
        uv_idle_start(&idle, &on_idle);
    } else {
        uv_unref(reinterpret_cast<uv_handle_t*>(&prepare));
        uv_unref(reinterpret_cast<uv_handle_t*>(&check));
        uv_idle_stop(&idle);
    }
}

void loop_state::drain() {
    for (int round = 0; round < max_drain_rounds && !queue.empty(); ++round) {
        running.swap(queue);
        for (std::size_t i = 0; i < running.size(); ++i) {
            // Moved out first: the task may destroy the event_loop, whose
            // shutdown() then clears `running` under our feet.
            task fn = std::move(running[i]);
            fn();
            if (dead) return;
        }
        running.clear();
    }
    update_refs();
}

void loop_state::run_posted() {
    {
        std::lock_guard<std::mutex> lock(post_mutex);
        posted_running.swap(posted);
    }
    for (std::size_t i = 0; i < posted_running.size(); ++i) {
        task fn = std::move(posted_running[i]);
        fn();
        if (dead) return;
    }
    posted_running.clear();
}

void loop_state::link(pending_request* r) noexcept {
    r->prev = nullptr;
    r->next = requests;
    if (requests != nullptr) requests->prev = r;
    requests = r;
    ++request_count;
}

bool loop_state::finish(pending_request* r) noexcept {
    if (r->prev != nullptr)
        r->prev->next = r->next;
    else
        requests = r->next;
    if (r->next != nullptr) r->next->prev = r->prev;
    r->prev = r->next = nullptr;
    --request_count;
    return release_if_unused();
}

void loop_state::clear_tasks(std::vector<task>& tasks) noexcept {
    // Destroyed outside the vector: a task's destructor may call defer()/post(),
    // which drop their argument once `dead` is set.
    std::vector<task> doomed;
    doomed.swap(tasks);
    doomed.clear();
}

void loop_state::run_closing_hooks() noexcept {
    if (closing_hooks.empty()) return;
    // Work deferred before stays unrun, as always at destruction; only what
    // the hooks set off runs: they close connections, whose callbacks
    // complete deferred, which release leases, whose connections are then
    // freed, deferred again.
    std::vector<task> earlier;
    earlier.swap(queue);
    // One at a time, taken out first: a hook may remove others, or free the
    // object that registered it.
    while (!closing_hooks.empty()) {
        task hook = std::move(closing_hooks.front().second);
        closing_hooks.erase(closing_hooks.begin());
        hook();
    }
    for (int round = 0; round < 16 && !queue.empty(); ++round) drain();
    for (auto& t : earlier) queue.push_back(std::move(t));  // destroyed unrun by shutdown()
}

void loop_state::shutdown() noexcept {
    if (dead) return;
    dead = true;
    std::vector<task> orphans;
    {
        std::lock_guard<std::mutex> lock(post_mutex);
        accepting_posts = false;
        orphans.swap(posted);
    }
    clear_tasks(orphans);
    clear_tasks(posted_running);
    clear_tasks(queue);
    clear_tasks(running);
    // Queued threadpool work never starts; running work completes and its
    // completion sees `dead`.
    for (pending_request* r = requests; r != nullptr; r = r->next) uv_cancel(r->native());
    uv_close(reinterpret_cast<uv_handle_t*>(&async), &on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&prepare), &on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&check), &on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle), &on_handle_closed);
}

bool loop_state::release_if_unused() noexcept {
    if (!dead || open_handles != 0 || request_count != 0) return false;
    if (freed_flag != nullptr) *freed_flag = true;
    delete this;
    return true;
}

void loop_state::on_async(uv_async_t* h) { static_cast<loop_state*>(h->data)->run_posted(); }
void loop_state::on_prepare(uv_prepare_t* h) { static_cast<loop_state*>(h->data)->drain(); }
void loop_state::on_check(uv_check_t* h) { static_cast<loop_state*>(h->data)->drain(); }
void loop_state::on_idle(uv_idle_t* /*h*/) {}

void loop_state::on_handle_closed(uv_handle_t* h) {
    auto* self = static_cast<loop_state*>(h->data);
    --self->open_handles;
    self->release_if_unused();
}

}  // namespace detail

event_loop::event_loop() : owned_(std::make_unique<uv_loop_t>()) {
    int rc = uv_loop_init(owned_.get());
    if (rc != 0)
        throw std::runtime_error(std::string("uvdb: uv_loop_init failed: ") + uv_strerror(rc));
    loop_ = owned_.get();
    try {
        state_ = new detail::loop_state(loop_);
    } catch (...) {
        uv_loop_close(loop_);
        throw;
    }
}

event_loop::event_loop(uv_loop_t* borrowed) : loop_(borrowed) {
    if (borrowed == nullptr)
        throw std::invalid_argument("uvdb::event_loop: the borrowed loop is null");
    state_ = new detail::loop_state(loop_);
}

namespace {
void close_leftover(uv_handle_t* h, void* count) {
    if (uv_is_closing(h) == 0) {
        uv_close(h, nullptr);
        ++*static_cast<int*>(count);
    }
}
}  // namespace

event_loop::~event_loop() {
    if (state_ == nullptr) return;
    state_->run_closing_hooks();
    detail::loop_state* st = std::exchange(state_, nullptr);
    if (!owned_) {
        // The application runs its loop again; the state frees itself there.
        st->shutdown();
        return;
    }
    bool freed = false;
    st->freed_flag = &freed;
    st->shutdown();
    // Until our close callbacks and request completions ran. Closing handles
    // keep the loop alive, so uv_run cannot return early with work left.
    while (!freed) {
        if (uv_run(loop_, UV_RUN_ONCE) == 0 && !freed) break;
    }
    for (int attempt = 0; attempt < 4 && uv_loop_close(loop_) == UV_EBUSY; ++attempt) {
        int left = 0;
        uv_walk(loop_, &close_leftover, &left);
        if (left > 0) {
            logger().warn(
                "event_loop: closed {} libuv handle(s) still open on the owned loop at destruction",
                left);
        }
        uv_run(loop_, UV_RUN_DEFAULT);
    }
}

void event_loop::run() {
    state_->adopt_posted();
    uv_run(loop_, UV_RUN_DEFAULT);
}

bool event_loop::run_once() {
    state_->adopt_posted();
    return uv_run(loop_, UV_RUN_ONCE) != 0;
}

bool event_loop::run_nowait() {
    state_->adopt_posted();
    return uv_run(loop_, UV_RUN_NOWAIT) != 0;
}

void event_loop::stop() noexcept { uv_stop(loop_); }

void event_loop::post(unique_function<void()> fn) { state_->post(std::move(fn)); }

void event_loop::defer(unique_function<void()> fn) { state_->defer(std::move(fn)); }

std::uint64_t event_loop::add_closing_hook(unique_function<void()> fn) {
    const std::uint64_t id = state_->next_hook_id++;
    state_->closing_hooks.emplace_back(id, std::move(fn));
    return id;
}

void event_loop::remove_closing_hook(std::uint64_t id) noexcept {
    if (state_ == nullptr) return;
    auto& hooks = state_->closing_hooks;
    for (auto it = hooks.begin(); it != hooks.end(); ++it) {
        if (it->first == id) {
            hooks.erase(it);
            return;
        }
    }
}

event_loop::clock::time_point event_loop::now() const noexcept {
    auto since = std::chrono::milliseconds(uv_now(loop_));
    return std::chrono::time_point_cast<clock::duration>(state_->epoch + since);
}

event_loop::clock::time_point event_loop::update_time() noexcept {
    uv_update_time(loop_);
    return now();
}

}  // namespace uvdb
