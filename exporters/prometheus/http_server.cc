#include "exporters/prometheus/http_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace gputrace::prometheus {
namespace {

constexpr size_t kWorkers = 4;
constexpr size_t kWaitingConnections = 16;
constexpr time_t kIoTimeoutSeconds = 5;
constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kPlainText = "text/plain; charset=utf-8";

// cpp-httplib's own ThreadPool queues without bound. This one holds at most `waiting`
// accepted connections; beyond that enqueue() blocks the listener, so further clients wait in
// the kernel's accept backlog instead of in our memory.
class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t workers, size_t waiting) : waiting_(waiting) {
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return jobs_.size() < waiting_ || stopping_; });
    jobs_.push_back(std::move(fn));
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) return;  // stopping, and every accepted connection served
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      fn();  // serves the connection and closes it
    }
  }

  const size_t waiting_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// cpp-httplib's default also sets SO_REUSEPORT, which would let a second daemon bind the same
// port and take half the scrapes; SO_REUSEADDR alone only allows a restart over TIME_WAIT.
httplib::SocketOptions socket_options(bool dual_stack) {
  return [dual_stack](int fd) {
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (dual_stack && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_INET6)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  };
}

std::string format_address(const std::string& host, int port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

}  // namespace

struct MetricsHttpServer::Impl {
  httplib::Server http;
  std::string address;
  std::thread thread;
  std::mutex mu;
  std::shared_ptr<const std::string> metrics;  // null until the first set_metrics()
  std::atomic<uint64_t> scrapes{0}, rejected{0};
  std::atomic<bool> listener_done{false};

  void install_handlers();
  // Binds host:port (port 0: any free one); the port bound, or -1 with errno set.
  int bind(const std::string& host, uint16_t port, bool dual_stack) {
    http.set_socket_options(socket_options(dual_stack));
    errno = 0;
    if (port == 0) return http.bind_to_any_port(host);
    return http.bind_to_port(host, port) ? port : -1;
  }
};

void MetricsHttpServer::Impl::install_handlers() {
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("only GET and HEAD are served\n", kPlainText);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path != "/metrics") {
      res.status = 404;
      res.set_content("gputrace serves its metrics at /metrics\n", kPlainText);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const std::string> body;
    {
      std::lock_guard lock(mu);
      body = metrics;
    }
    if (!body) {  // the scrape fails (up=0) rather than succeed with nothing in it
      res.status = 503;
      res.set_header("Retry-After", "1");
      res.set_content("gputrace has not taken its first snapshot yet\n", kPlainText);
      return;
    }
    ++scrapes;
    res.set_content(*body, kMetricsContentType);
  });
  // Every answer of 400 and above passes here, cpp-httplib's own (malformed or oversized
  // requests) included; 503 is ours and no fault of the client.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (res.status != 503) ++rejected;
    return httplib::Server::HandlerResponse::Unhandled;
  }));
}

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::start(const std::string& listen) {
  auto hp = split_listen_address(listen);
  if (!hp) return tl::unexpected(hp.error());
  const auto& [host, port] = *hp;
  auto impl = std::make_unique<Impl>();
  impl->http.new_task_queue = [] { return new BoundedTaskQueue(kWorkers, kWaitingConnections); };
  impl->http.set_read_timeout(kIoTimeoutSeconds, 0);
  impl->http.set_write_timeout(kIoTimeoutSeconds, 0);
  // one request per connection, as Prometheus scrapes every 10 s or so: a refused request
  // (400) would otherwise keep its connection, and a worker, for the keep-alive timeout
  impl->http.set_keep_alive_max_count(1);
  impl->install_handlers();

  int bound = -1;
  std::string bound_host = host;
  if (host.empty()) {
    // ":PORT": one IPv6 socket with IPV6_V6ONLY off takes both (the host's
    // net.ipv6.bindv6only notwithstanding); a host without IPv6 gets IPv4 only
    bound_host = "::";
    bound = impl->bind(bound_host, port, true);
    if (bound < 0) bound = impl->bind(bound_host = "0.0.0.0", port, false);
  } else {
    bound = impl->bind(host, port, false);
  }
  if (bound < 0)
    return fail_errno(errno, "cannot serve metrics on {} (is another exporter using the port, or is {} not an address "
                             "of this host? choose one with --listen)",
                      listen, host.empty() ? "it" : host);
  impl->address = format_address(bound_host, bound);
  Impl* p = impl.get();
  impl->thread = std::thread([p] {
    p->http.listen_after_bind();
    p->listener_done = true;
  });
  // stop() before the listener runs would be lost, and the destructor would wait forever
  while (!impl->http.is_running() && !impl->listener_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl)));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsHttpServer::~MetricsHttpServer() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void MetricsHttpServer::set_metrics(std::string text) {
  auto next = std::make_shared<const std::string>(std::move(text));
  std::lock_guard lock(impl_->mu);
  impl_->metrics = std::move(next);
}

std::string MetricsHttpServer::address() const { return impl_->address; }
uint64_t MetricsHttpServer::scrapes() const { return impl_->scrapes.load(); }
uint64_t MetricsHttpServer::rejected() const { return impl_->rejected.load(); }

}  // namespace gputrace::prometheus
