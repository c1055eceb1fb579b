#include "exporters/prometheus/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <vector>

namespace gputrace::prometheus {
namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr size_t kMaxConnections = 64;
constexpr auto kRequestTimeout = std::chrono::seconds(10);

struct Connection {
  Fd fd;
  std::string in;
  std::shared_ptr<const std::string> body;  // keeps the text alive while it is sent
  std::string head;
  size_t sent = 0;      // of head + body
  bool head_only = false;
  bool responding = false;
  std::chrono::steady_clock::time_point deadline;
};

Result<std::pair<std::string, std::string>> split_host_port(const std::string& listen) {
  std::string host, port;
  if (!listen.empty() && listen[0] == '[') {
    const size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      return fail("--listen {}: write an IPv6 address as [ADDR]:PORT", listen);
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return fail("--listen {}: expected HOST:PORT, e.g. 127.0.0.1:9478", listen);
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return fail("--listen {}: the port must be a number from 0 to 65535", listen);
  return std::pair(host, port);
}

// An IPv6 socket on every address that takes IPv4 too; fails where the host has no IPv6.
Result<Fd> listen_dual_stack(uint16_t port) {
  Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail_errno(errno, "no IPv6 socket");
  int one = 1, zero = 0;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0) return fail_errno(errno, "IPV6_V6ONLY");
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  a.sin6_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd.get(), 64) != 0)
    return fail_errno(errno, "bind [::]:{}", port);
  return fd;
}

std::string address_of(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    return fmt::format("[{}]:{}", host, ntohs(a->sin6_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
  return fmt::format("{}:{}", host, ntohs(a->sin_port));
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
  }
  return "Error";
}

void respond(Connection& c, int status, std::shared_ptr<const std::string> body, const char* content_type,
             const char* extra_header = "") {
  c.body = std::move(body);
  c.head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
                       status, reason(status), content_type, c.body->size(), extra_header);
  c.sent = 0;
  c.responding = true;
}

std::shared_ptr<const std::string> text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

}  // namespace

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::start(const std::string& listen) {
  auto hp = split_host_port(listen);
  if (!hp) return tl::unexpected(hp.error());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const int gai = getaddrinfo(hp->first.empty() ? nullptr : hp->first.c_str(), hp->second.c_str(), &hints, &res);
  if (gai != 0) return fail("--listen {}: cannot resolve {}: {}", listen, hp->first, gai_strerror(gai));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);

  std::unique_ptr<MetricsHttpServer> s(new MetricsHttpServer());
  int last_errno = 0;
  if (hp->first.empty()) {
    // ":PORT": getaddrinfo lists 0.0.0.0 first, which would leave IPv6 out; one IPv6 socket
    // with IPV6_V6ONLY off takes both (the host's net.ipv6.bindv6only default notwithstanding)
    if (auto fd = listen_dual_stack(static_cast<uint16_t>(std::stoul(hp->second)))) s->listener_ = std::move(*fd);
    else last_errno = fd.error().errnum;
  }
  for (addrinfo* ai = res; ai && !s->listener_.valid(); ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd.valid()) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), 64) != 0) {
      last_errno = errno;
      continue;
    }
    s->listener_ = std::move(fd);
  }
  if (!s->listener_.valid())
    return fail_errno(last_errno, "cannot serve metrics on {} (is another exporter using the port? choose one with --listen)",
                      listen);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(s->listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  s->address_ = address_of(bound);
  s->wake_ = Fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!s->wake_.valid()) return fail_errno(errno, "cannot create the metrics server's eventfd");
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
    thread_.join();
  }
}

void MetricsHttpServer::set_metrics(std::string text) {
  auto next = std::make_shared<const std::string>(std::move(text));
  std::lock_guard lock(mu_);
  metrics_ = std::move(next);
}

void MetricsHttpServer::run() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({wake_.get(), POLLIN, 0});
    fds.push_back({listener_.get(), static_cast<short>(conns.size() < kMaxConnections ? POLLIN : 0), 0});
    for (const Connection& c : conns) fds.push_back({c.fd.get(), static_cast<short>(c.responding ? POLLOUT : POLLIN), 0});
    const int n = ::poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) return;
    if (fds[0].revents) return;  // stop
    const auto now = std::chrono::steady_clock::now();

    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      const short ev = fds[i + 2].revents;
      if (!c.responding && (ev & (POLLIN | POLLHUP | POLLERR))) {
        char buf[2048];
        const ssize_t got = ::recv(c.fd.get(), buf, sizeof(buf), 0);
        if (got <= 0) {
          if (got == 0 || (errno != EAGAIN && errno != EINTR)) c.fd.reset();
          continue;
        }
        c.in.append(buf, static_cast<size_t>(got));
        const size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (c.in.size() > kMaxRequestBytes) {
            ++rejected_;
            respond(c, 431, text("request headers too large\n"), "text/plain; charset=utf-8");
          }
          continue;
        }
        // request line: METHOD SP TARGET SP HTTP/1.x
        const std::string line = c.in.substr(0, c.in.find("\r\n"));
        const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
        if (sp1 == std::string::npos || sp2 == sp1 || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
          ++rejected_;
          respond(c, 400, text("malformed request line\n"), "text/plain; charset=utf-8");
          continue;
        }
        const std::string method = line.substr(0, sp1);
        std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        target = target.substr(0, target.find('?'));
        if (method != "GET" && method != "HEAD") {
          ++rejected_;
          respond(c, 405, text("only GET and HEAD are served\n"), "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n");
        } else if (target != "/metrics") {
          ++rejected_;
          respond(c, 404, text("gputrace serves its metrics at /metrics\n"), "text/plain; charset=utf-8");
        } else {
          std::shared_ptr<const std::string> body;
          {
            std::lock_guard lock(mu_);
            body = metrics_;
          }
          if (body) {
            ++scrapes_;
            respond(c, 200, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
          } else {  // the scrape fails (up=0) rather than succeed with nothing in it
            respond(c, 503, text("gputrace has not taken its first snapshot yet\n"), "text/plain; charset=utf-8",
                    "Retry-After: 1\r\n");
          }
        }
        c.head_only = method == "HEAD";
      } else if (c.responding && (ev & (POLLOUT | POLLHUP | POLLERR))) {
        const size_t body_size = c.head_only ? 0 : c.body->size();
        const size_t total = c.head.size() + body_size;
        while (c.sent < total) {
          const bool in_head = c.sent < c.head.size();
          const char* p = in_head ? c.head.data() + c.sent : c.body->data() + (c.sent - c.head.size());
          const size_t len = in_head ? c.head.size() - c.sent : total - c.sent;
          const ssize_t w = ::send(c.fd.get(), p, len, MSG_NOSIGNAL);
          if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) c.fd.reset();
            break;
          }
          c.sent += static_cast<size_t>(w);
        }
        if (c.fd.valid() && c.sent == total) {
          ::shutdown(c.fd.get(), SHUT_WR);
          // closing with unread input makes the kernel send a reset, which can destroy the
          // answer before the client reads it: drain what the client already sent
          char sink[4096];
          while (::recv(c.fd.get(), sink, sizeof(sink), MSG_DONTWAIT) > 0) {
          }
          c.fd.reset();
        }
      }
      if (c.fd.valid() && now > c.deadline) {
        ++rejected_;  // too slow to send its request or to read the answer
        c.fd.reset();
      }
    }
    std::erase_if(conns, [](const Connection& c) { return !c.fd.valid(); });

    if (fds[1].revents & POLLIN) {
      while (conns.size() < kMaxConnections) {
        Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) break;
        Connection c;
        c.fd = std::move(fd);
        c.deadline = now + kRequestTimeout;
        conns.push_back(std::move(c));
      }
    }
  }
}

}  // namespace gputrace::prometheus
