#include "kubelite/websocket.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

#include "kubelite/objects.h"

namespace kubelite {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The request's socket: the one whose peer and local ports are the request's (cpp-httplib keeps it private).
int find_socket(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, local{};
    socklen_t pl = sizeof peer, ll = sizeof local;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    auto port = [](const sockaddr_storage& a) {
      return a.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port)
                                    : ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
    };
    if (port(peer) == req.remote_port && port(local) == req.local_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

class WebSocket : public StreamConnection {
 public:
  explicit WebSocket(UpgradedSocket& socket) : socket_(socket) {}

  bool write_message(const std::string& payload) override { return send_frame(0x2, payload); }

  bool read_message(std::string& payload) override {
    payload.clear();
    while (true) {
      unsigned char head[2];
      if (!socket_.read_exact(head, 2)) return false;
      int opcode = head[0] & 0x0f;
      bool fin = head[0] & 0x80;
      uint64_t len = head[1] & 0x7f;
      if (len == 126) {
        unsigned char b[2];
        if (!socket_.read_exact(b, 2)) return false;
        len = (uint64_t(b[0]) << 8) | b[1];
      } else if (len == 127) {
        unsigned char b[8];
        if (!socket_.read_exact(b, 8)) return false;
        len = 0;
        for (unsigned char x : b) len = (len << 8) | x;
      }
      if (len > (64u << 20)) return false;
      unsigned char mask[4] = {0, 0, 0, 0};
      if ((head[1] & 0x80) && !socket_.read_exact(mask, 4)) return false;
      std::string data(len, '\0');
      if (len && !socket_.read_exact(reinterpret_cast<unsigned char*>(data.data()), len)) return false;
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(data[i] ^ mask[i % 4]);
      if (opcode == 0x8) {  // close: answer it
        send_frame(0x8, data.substr(0, 2));
        return false;
      }
      if (opcode == 0x9) {
        send_frame(0xA, data);
        continue;
      }
      if (opcode == 0xA) continue;
      payload += data;
      if (fin) return true;
    }
  }

  void close() override {
    std::call_once(closed_, [&] {
      send_frame(0x8, std::string("\x03\xe8", 2));  // 1000: normal closure
      socket_.shutdown_both();
    });
  }

 private:
  bool send_frame(int opcode, const std::string& payload) {
    std::string frame;
    frame += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      frame += static_cast<char>(payload.size());
    } else if (payload.size() < 65536) {
      frame += static_cast<char>(126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xff);
    } else {
      frame += static_cast<char>(127);
      for (int i = 7; i >= 0; --i) frame += static_cast<char>((uint64_t(payload.size()) >> (8 * i)) & 0xff);
    }
    frame += payload;
    return socket_.send_all(frame);
  }
  UpgradedSocket& socket_;
  std::once_flag closed_;
};

}  // namespace

UpgradedSocket::UpgradedSocket(const httplib::Request& req) {
  ssl_ = const_cast<SSL*>(req.ssl);
  fd_ = ssl_ ? SSL_get_fd(ssl_) : find_socket(req);
}

bool UpgradedSocket::send_all(const std::string& data) {
  std::lock_guard lock(write_mu_);
  size_t off = 0;
  while (off < data.size()) {
    long n = ssl_ ? SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off))
                  : ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool UpgradedSocket::read_exact(unsigned char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    long r = ssl_ ? SSL_read(ssl_, out + got, static_cast<int>(n - got)) : ::recv(fd_, out + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

void UpgradedSocket::finish_writing(int linger_seconds) {
  std::lock_guard lock(write_mu_);
  if (ssl_) SSL_shutdown(ssl_);
  ::shutdown(fd_, SHUT_WR);
  timeval tv{linger_seconds, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void UpgradedSocket::shutdown_both() {
  std::lock_guard lock(write_mu_);
  if (ssl_) SSL_shutdown(ssl_);
  ::shutdown(fd_, SHUT_RDWR);
}

bool wants_websocket(const httplib::Request& req) {
  return lower(req.get_header_value("Upgrade")) == "websocket" &&
         lower(req.get_header_value("Connection")).find("upgrade") != std::string::npos;
}

std::string choose_channel_protocol(const httplib::Request& req) {
  std::string offered = req.get_header_value("Sec-WebSocket-Protocol");
  size_t start = 0;
  while (start < offered.size()) {
    size_t end = offered.find(',', start);
    if (end == std::string::npos) end = offered.size();
    std::string p = offered.substr(start, end - start);
    p.erase(0, p.find_first_not_of(' '));
    p.erase(p.find_last_not_of(' ') + 1);
    if (p == "v5.channel.k8s.io" || p == "v4.channel.k8s.io") return p;
    start = end + 1;
  }
  return "";
}

bool run_websocket(const httplib::Request& req, const std::string& protocol, const ExecSession& session) {
  UpgradedSocket socket(req);
  if (socket.fd() < 0) return false;
  std::string key = req.get_header_value("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  WebSocket ws(socket);
  std::string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: " +
                         base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest)) +
                         "\r\nSec-WebSocket-Protocol: " + protocol + "\r\n\r\n";
  if (!socket.send_all(response)) return true;
  session(ws);
  ws.close();
  return true;
}

}  // namespace kubelite
