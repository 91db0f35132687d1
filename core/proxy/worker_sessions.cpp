// The worker's sessions: starting one on an accepted connection (first the PROXY protocol header
// reader on a listener that requires it, then the listener's own kind), finding one by slot, and
// freeing one once finished.
#include "core/proxy/worker.hpp"

namespace ringlb {

void Worker::start_session(int client_fd, const Listener& listener) {
  if (shared_.connections->fetch_add(1, std::memory_order_relaxed) + 1 >= max_connections_) {
    pause_accepting();
  }
  if (!listener.config->proxy_protocol) {
    return start_listener_session(client_fd, current_, listener, nullptr);
  }
  auto [handle, storage] = sessions_.emplace(std::in_place_type<ProxyHeaderSession>);
  auto& reader = *std::get_if<ProxyHeaderSession>(&storage);
  reader.start(ctx_, OpTag{OpKind::kIgnore, handle.slot, handle.generation}, client_fd, current_,
               listener);
  free_session_if_finished(reader, handle.slot);
}

void Worker::start_listener_session(int client_fd, std::shared_ptr<const Snapshot> snapshot,
                                    const Listener& listener, const CarriedAddresses* carried) {
  // A PROXY header read across a reload: the connection drains as those open at the reload did.
  const bool stale = snapshot->loaded != current_->loaded;
  // Built in place in its slot (it never moves), then started with the tag its operations carry.
  const auto start = [&]<typename Kind>(std::in_place_type_t<Kind> kind) {
    auto [handle, storage] = sessions_.emplace(kind);
    Kind& session = *std::get_if<Kind>(&storage);
    session.start(ctx_, OpTag{OpKind::kIgnore, handle.slot, handle.generation}, client_fd,
                  std::move(snapshot), listener, carried);
    if (stale && !session.finished()) session.drain(false);
    free_session_if_finished(session, handle.slot);
  };
  if (listener.config->protocol == config::Protocol::kHttp) {
    start(std::in_place_type<HttpSession>);
  } else {
    start(std::in_place_type<TcpSession>);
  }
}

std::optional<ProxyHeaderSession::Handoff> Worker::take_handoff(uint32_t slot) {
  auto* reader = std::get_if<ProxyHeaderSession>(sessions_.at(slot));
  if (reader == nullptr || !reader->has_handoff()) return std::nullopt;
  return reader->take_handoff();
}

Session* Worker::as_session(SessionStorage* storage) {
  if (storage == nullptr) return nullptr;
  if (auto* http = std::get_if<HttpSession>(storage)) return http;
  if (auto* tcp = std::get_if<TcpSession>(storage)) return tcp;
  return std::get_if<ProxyHeaderSession>(storage);
}

Session* Worker::session_at(uint32_t slot) { return as_session(sessions_.at(slot)); }

Session* Worker::live_session(OpTag tag) {
  return as_session(sessions_.find(tag.slot, tag.generation));
}

void Worker::free_session_if_finished(Session& session, uint32_t slot) {
  if (session.finished()) free_session(session, slot);
  if (!ctx_.closed_by_another.empty()) free_closed_by_another();
}

void Worker::free_session(Session& session, uint32_t slot) {
  std::optional<ProxyHeaderSession::Handoff> handoff = take_handoff(slot);
  const bool connection = session.is_connection();
  session.release();
  sessions_.erase(slot);
  if (handoff) {  // the same connection, still counted, goes on as its listener's session
    return start_listener_session(handoff->client_fd, std::move(handoff->snapshot),
                                  *handoff->listener, &handoff->addresses);
  }
  if (connection) shared_.connections->fetch_sub(1, std::memory_order_relaxed);
}

// Freeing one may close another (a released stream lets its draining connection end), which
// joins the list while it is walked: hence the index, not an iterator. One still closing (with
// operations in flight) is freed by its last completion, as any session is.
void Worker::free_closed_by_another() {
  for (size_t i = 0; i < ctx_.closed_by_another.size(); ++i) {
    const SlotHandle handle = ctx_.closed_by_another[i];
    Session* session = as_session(sessions_.find(handle));
    if (session != nullptr && session->finished()) free_session(*session, handle.slot);
  }
  ctx_.closed_by_another.clear();
}

HttpSession& Worker::emplace_stream(SlotHandle& handle) {
  auto [made, storage] = sessions_.emplace(std::in_place_type<HttpSession>);
  handle = made;
  return *std::get_if<HttpSession>(&storage);
}

HttpSession* Worker::find_http(SlotHandle handle) {
  SessionStorage* storage = sessions_.find(handle);
  return storage == nullptr ? nullptr : std::get_if<HttpSession>(storage);
}

}  // namespace ringlb
