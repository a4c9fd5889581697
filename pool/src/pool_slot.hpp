#pragma once
/// \file
/// A pooled connection's slot, its states, and `slot_table`: the one place
/// where a slot changes state. Every list and counter that depends on a
/// slot's state is kept by slot_table::set_state, so no other code links,
/// unlinks or counts slots, and slot_table::consistent() can check all of it
/// in one call (asserted after each change in builds without NDEBUG).
///
/// The life of a slot (the pool decides the arrows; pool_core.hpp says when):
///
///   free ─▶ connecting ─▶ idle | leased (to a waiter)     fail ─▶ free
///   idle ─▶ leased                       (fresh: no ping)
///   idle ─▶ pinging ─▶ leased | idle                      fail ─▶ free
///   leased ─▶ leaked                     (held past leak_threshold, reported)
///   leased | leaked ─▶ resetting ─▶ idle | leased         fail ─▶ free
///   leased | leaked ─▶ idle | leased     (nothing to reset)
///   any ─▶ free                          (broken, stale, expired, invalidated,
///                                         idle timeout, overflow, close)
///
/// `detached` marks a slot between two of these inside one call of the pool
/// (e.g. taken off the idle list while the pool decides whether to ping it).

#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <uvdb/driver.hpp>

#include "free_list.hpp"
#include "intrusive_list.hpp"
#include "statement_gate.hpp"
#include "timer_source.hpp"

namespace uvdb::detail {

using time_point = timer_source::time_point;

struct query_op;  // pool_core.hpp

enum class slot_state : std::uint8_t {
    free,
    detached,
    connecting,
    idle,
    pinging,
    leased,
    leaked,
    resetting
};
inline constexpr std::size_t slot_state_count = 8;

/// Whether a caller holds the slot's connection (leaked is leased, reported).
constexpr bool lent(slot_state s) noexcept {
    return s == slot_state::leased || s == slot_state::leaked;
}

struct conn_slot : list_node {
    std::unique_ptr<connection> conn;
    time_point created_at{};  // when its connect started, then when it connected
    time_point idle_since{};  // when it last became idle (or was pinged OK)
    time_point expires_at{};  // recycle deadline (with jitter); max() = never
    time_point checked_out_at{};
    std::source_location acquired_at{};
    std::uint64_t generation = 0;  // pool generation when it connected
    std::uint32_t epoch = 0;       // bumped when the slot is freed: stale callbacks see a change
    slot_state state = slot_state::free;
    bool reset_query_due = false;  // pool_options::reset_query still to run on this return
    conn_slot* next_free = nullptr;
    statement_gate gate;  // what lease.query/execute run through (bound while lent)
    // Lent to pool.query rather than to a lease (pool_query.cpp): its
    // statements in flight, in the order they were sent, which is the order
    // the driver answers them. More than one when pool_options::pipeline_depth
    // let later ones share the connection. Empty while a lease holds it.
    intrusive_list<query_op> queries;
    // The first fatal error one of them got: the slot is discarded (once)
    // when the last of them has been answered.
    std::optional<error> query_fault;
};

/// Why a connection may not be handed out (again), decided the same way when
/// it is taken from the idle list and when its lease gives it back.
enum class reuse_verdict : std::uint8_t {
    reuse,    ///< fit for the next caller (a reset or ping may still be due)
    broken,   ///< the driver says it is unusable
    busy,     ///< a statement still runs on it
    stale,    ///< opened before the server went away (an older pool generation)
    expired,  ///< past its recycle deadline
    /// the server no longer has the role the connection was opened for
    /// (connection::role_lost: a demoted primary, a promoted standby)
    role_lost,
};

/// The verdict on `s` for a pool at `generation`, at `now`. Cheapest checks
/// first: this runs on every checkout and checkin. A lost role goes before
/// the recycle deadline: it also retires the other connections opened to
/// that server (pool_core::discard_for), which a connection that happened to
/// expire at the same checkin must not skip.
inline reuse_verdict judge_reuse(const conn_slot& s, std::uint64_t generation,
                                 time_point now) noexcept {
    if (s.generation != generation) return reuse_verdict::stale;
    if (s.conn->is_broken()) return reuse_verdict::broken;
    if (s.conn->role_lost()) return reuse_verdict::role_lost;
    if (now >= s.expires_at) return reuse_verdict::expired;
    if (!s.conn->is_idle()) return reuse_verdict::busy;
    return reuse_verdict::reuse;
}

/// Every slot of a pool, the lists that order some of them, and how many
/// are in each state. Loop thread only.
class slot_table {
  public:
    slot_table() = default;
    slot_table(const slot_table&) = delete;
    slot_table& operator=(const slot_table&) = delete;

    /// A free slot, now connecting (its connection is the caller's to open).
    conn_slot& open() {
        conn_slot* s = slots_.get();
        assert(s->state == slot_state::free);
        set_state(*s, slot_state::connecting);
        return *s;
    }

    /// The one state change: moves `s` from its list and count to those of
    /// `to`. Lists are appended to, so each keeps the order slots entered it
    /// (idle: oldest idle_since first; leased and leaked: oldest checkout
    /// first). Going to free bumps the epoch (callbacks still in flight for
    /// the old connection see the change) and makes the slot reusable.
    void set_state(conn_slot& s, slot_state to) noexcept {
        const slot_state from = s.state;
        if (intrusive_list<conn_slot>* l = list_of(from)) l->erase(s);
        if (from == slot_state::free) {
            ++total_;
        } else {
            --counts_[index(from)];
        }
        s.state = to;
        if (to == slot_state::free) {
            --total_;
            ++s.epoch;
            slots_.put(&s);
        } else {
            ++counts_[index(to)];
        }
        if (intrusive_list<conn_slot>* l = list_of(to)) l->push_back(s);
        assert(consistent());
    }

    /// Slots in state `s` (free ones are not counted).
    std::size_t count(slot_state s) const noexcept { return counts_[index(s)]; }
    /// Slots that hold a connection or are opening one (every state but free).
    std::size_t total() const noexcept { return total_; }
    std::size_t lent_count() const noexcept { return leased_.size() + leaked_.size(); }

    intrusive_list<conn_slot>& idle() noexcept { return idle_; }
    const intrusive_list<conn_slot>& idle() const noexcept { return idle_; }
    intrusive_list<conn_slot>& leased() noexcept { return leased_; }
    const intrusive_list<conn_slot>& leased() const noexcept { return leased_; }
    intrusive_list<conn_slot>& leaked() noexcept { return leaked_; }
    const intrusive_list<conn_slot>& leaked() const noexcept { return leaked_; }

    /// Calls fn(conn_slot&) on every slot, free ones included; fn may change
    /// states.
    template <class F>
    void for_each(F&& fn) {
        slots_.for_each(fn);
    }

    /// Whether every list and counter matches the slots' states: each count
    /// equals the slots in that state, each list holds exactly the slots in
    /// its state, total equals the slots that are not free. O(slots).
    bool consistent() const noexcept {
        std::array<std::size_t, slot_state_count> seen{};
        std::size_t busy = 0;
        bool linked_right = true;
        slots_.for_each([&](const conn_slot& s) {
            ++seen[index(s.state)];
            if (s.state != slot_state::free) ++busy;
            const bool in_list = s.linked();
            if (in_list != (list_of_const(s.state) != nullptr)) linked_right = false;
        });
        for (std::size_t i = 1; i < slot_state_count; ++i) {
            if (seen[i] != counts_[i]) return false;
        }
        return linked_right && busy == total_ && idle_.size() == counts_[index(slot_state::idle)] &&
               leased_.size() == counts_[index(slot_state::leased)] &&
               leaked_.size() == counts_[index(slot_state::leaked)];
    }

  private:
    static constexpr std::size_t index(slot_state s) noexcept {
        return static_cast<std::size_t>(s);
    }

    intrusive_list<conn_slot>* list_of(slot_state s) noexcept {
        switch (s) {
            case slot_state::idle:
                return &idle_;
            case slot_state::leased:
                return &leased_;
            case slot_state::leaked:
                return &leaked_;
            default:
                return nullptr;
        }
    }
    const intrusive_list<conn_slot>* list_of_const(slot_state s) const noexcept {
        return const_cast<slot_table*>(this)->list_of(s);
    }

    free_list<conn_slot> slots_;
    intrusive_list<conn_slot> idle_;
    intrusive_list<conn_slot> leased_;
    intrusive_list<conn_slot> leaked_;
    std::array<std::size_t, slot_state_count> counts_{};  // by state; [free] unused
    std::size_t total_ = 0;
};

}  // namespace uvdb::detail
