#include "pg_commands.hpp"

namespace uvdb::postgres::detail {

command& command_queue::push_back(command&& c) {
    if (count_ == ring_.size()) {
        std::vector<command> bigger(ring_.empty() ? 4 : ring_.size() * 2);
        for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move((*this)[i]);
        ring_ = std::move(bigger);
        head_ = 0;
    }
    command& slot = ring_[(head_ + count_) % ring_.size()];
    slot = std::move(c);
    ++count_;
    return slot;
}

command command_queue::pop_front() {
    command out = std::move(ring_[head_]);
    if (out.sent) --sent_;
    ring_[head_] = command{};
    head_ = (head_ + 1) % ring_.size();
    --count_;
    return out;
}

command command_queue::remove(std::size_t i) {
    command out = std::move((*this)[i]);
    if (out.sent) --sent_;
    for (std::size_t j = i; j + 1 < count_; ++j) (*this)[j] = std::move((*this)[j + 1]);
    (*this)[count_ - 1] = command{};
    --count_;
    return out;
}

std::vector<command> command_queue::take_all() {
    std::vector<command> out;
    out.reserve(count_);
    while (count_ != 0) out.push_back(pop_front());
    return out;
}

}  // namespace uvdb::postgres::detail
