// Loopback HTTP helpers for the exporter tests: a GET client for the metrics server and a
// scripted receiver that records every request (method, path, headers, body) and answers
// with the statuses it is given, for the OTLP POST path.
#pragma once

#include "userspace/util/fd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gputrace::test {

inline uint16_t port_of(const std::string& address) {
  return static_cast<uint16_t>(std::stoul(address.substr(address.rfind(':') + 1)));
}

// Whether this host can bind IPv6's loopback (a container may have IPv6 disabled).
inline bool have_ipv6_loopback() {
  Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  return fd.valid() && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

// Sends `request` as is to 127.0.0.1:port (or [::1]:port) and returns everything the server answered.
inline std::string raw_http(uint16_t port, const std::string& request, bool ipv6 = false) {
  Fd fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*a);
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return "";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

inline std::string http_get(uint16_t port, const std::string& path, const std::string& method = "GET") {
  return raw_http(port, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

inline std::string http_get6(uint16_t port, const std::string& path) {
  return raw_http(port, "GET " + path + " HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n", true);
}

inline std::string body_of(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

struct ReceivedRequest {
  std::string method, path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Answers each request with the next scripted status (200 once the script is used up). hold()
// makes it keep each request it reads unanswered until release() (or 20 s), like a collector
// that stopped answering.
class ScriptedReceiver {
 public:
  explicit ScriptedReceiver(std::deque<int> statuses = {}) : statuses_(std::move(statuses)) {
    listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(listener_.get(), 16);
    socklen_t len = sizeof(a);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedReceiver() {
    stop_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<ReceivedRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Sent with every answer that is not a 200, e.g. "3600".
  void set_retry_after(std::string seconds) {
    std::lock_guard lock(mu_);
    retry_after_ = std::move(seconds);
  }
  void hold() { held_ = true; }
  void release() { held_ = false; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      Fd c(::accept(listener_.get(), nullptr, nullptr));
      if (!c.valid()) continue;
      std::string in;
      char buf[8192];
      size_t header_end = std::string::npos, need = 0;
      while (true) {
        pollfd q{c.get(), POLLIN, 0};
        if (::poll(&q, 1, 5000) <= 0) break;
        ssize_t n = ::recv(c.get(), buf, sizeof(buf), 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos && (header_end = in.find("\r\n\r\n")) != std::string::npos) {
          ReceivedRequest r = parse_head(in.substr(0, header_end));
          need = header_end + 4 + std::stoul(r.headers.count("content-length") ? r.headers["content-length"] : "0");
        }
        if (header_end != std::string::npos && in.size() >= need) break;
      }
      if (header_end == std::string::npos) continue;
      ReceivedRequest r = parse_head(in.substr(0, header_end));
      r.body = in.substr(header_end + 4);
      int status = 200;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(r);
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
      }
      for (int waited = 0; held_ && !stop_ && waited < 2000; ++waited) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::string extra;
      {
        std::lock_guard lock(mu_);
        if (status != 200 && !retry_after_.empty()) extra = "Retry-After: " + retry_after_ + "\r\n";
      }
      const std::string body = status == 200 ? "{}" : "{\"code\":14,\"message\":\"try later\"}";
      const std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n" + extra + "Connection: close\r\n\r\n" + body;
      (void)!::send(c.get(), resp.data(), resp.size(), MSG_NOSIGNAL);
    }
  }

  static ReceivedRequest parse_head(const std::string& head) {
    ReceivedRequest r;
    size_t eol = head.find("\r\n");
    const std::string line = head.substr(0, eol);
    r.method = line.substr(0, line.find(' '));
    r.path = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string h = head.substr(pos, e - pos);
      pos = e + 2;
      const size_t colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string name = h.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(value.begin());
      r.headers[name] = value;
    }
    return r;
  }

  Fd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> held_{false};
  std::string retry_after_;
  std::thread thread_;
  std::mutex mu_;
  std::deque<int> statuses_;
  std::vector<ReceivedRequest> requests_;
};

}  // namespace gputrace::test
