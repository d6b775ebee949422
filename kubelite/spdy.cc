#include "kubelite/spdy.h"

#include <sys/socket.h>
#include <zlib.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>

#include "kubelite/websocket.h"

namespace kubelite {

namespace {

// SPDY/3's header-compression dictionary (the SPDY/3 draft, "Compression"), 1423 bytes.
const char kDictionary[] =
    "\000\000\000\007options\000\000\000\004head\000\000\000\004post\000\000\000\003put\000\000\000\006del"
    "ete\000\000\000\005trace\000\000\000\006accept\000\000\000\016accept-charset\000\000\000\017accept-en"
    "coding\000\000\000\017accept-language\000\000\000\015accept-ranges\000\000\000\003age\000\000\000\005a"
    "llow\000\000\000\015authorization\000\000\000\015cache-control\000\000\000\012connection\000\000\000\014c"
    "ontent-base\000\000\000\020content-encoding\000\000\000\020content-language\000\000\000\016content-le"
    "ngth\000\000\000\020content-location\000\000\000\013content-md5\000\000\000\015content-range\000\000\000\014c"
    "ontent-type\000\000\000\004date\000\000\000\004etag\000\000\000\006expect\000\000\000\007expires\000\000\000\004f"
    "rom\000\000\000\004host\000\000\000\010if-match\000\000\000\021if-modified-since\000\000\000\015if-no"
    "ne-match\000\000\000\010if-range\000\000\000\023if-unmodified-since\000\000\000\015last-modified\000\000\000\010l"
    "ocation\000\000\000\014max-forwards\000\000\000\006pragma\000\000\000\022proxy-authenticate\000\000\000\023p"
    "roxy-authorization\000\000\000\005range\000\000\000\007referer\000\000\000\013retry-after\000\000\000\006s"
    "erver\000\000\000\002te\000\000\000\007trailer\000\000\000\021transfer-encoding\000\000\000\007upgrad"
    "e\000\000\000\012user-agent\000\000\000\004vary\000\000\000\003via\000\000\000\007warning\000\000\000\020w"
    "ww-authenticate\000\000\000\006method\000\000\000\003get\000\000\000\006status\000\000\000\006200 OK\000\000\000\007v"
    "ersion\000\000\000\010HTTP/1.1\000\000\000\003url\000\000\000\006public\000\000\000\012set-cookie\000\000\000\012k"
    "eep-alive\000\000\000\006origin1001012012022052063003023033043053063074024054064074084094104114124134"
    "14415416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Reque"
    "st401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service U"
    "navailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun"
    ", GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain"
    ",text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
constexpr size_t kDictionarySize = sizeof kDictionary - 1;

enum FrameType : uint16_t { kSynStream = 1, kSynReply = 2, kRstStream = 3, kPing = 6, kGoAway = 7 };
constexpr uint8_t kFin = 0x01;

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
uint32_t get32(const unsigned char* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

struct Frame {
  bool control = false;
  uint16_t type = 0;     // control frames
  uint32_t stream = 0;   // data frames
  uint8_t flags = 0;
  std::string payload;
};

class SpdySession : public StreamConnection {
 public:
  explicit SpdySession(UpgradedSocket& socket) : socket_(socket) {
    deflateInit(&deflate_, Z_DEFAULT_COMPRESSION);
    deflateSetDictionary(&deflate_, reinterpret_cast<const Bytef*>(kDictionary), kDictionarySize);
    inflateInit(&inflate_);
  }
  ~SpdySession() override {
    deflateEnd(&deflate_);
    inflateEnd(&inflate_);
  }

  // Replies to the client's streams until every one in `wanted` has been opened (false: the connection ended,
  // or 30 s passed, as the kubelet's stream-creation timeout).
  bool await_streams(const std::vector<std::string>& wanted) {
    timeval tv{30, 0};
    setsockopt(socket_.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto all_there = [&] {
      std::lock_guard lock(streams_mu_);
      for (const auto& w : wanted)
        if (!streams_.count(w)) return false;
      return true;
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!all_there()) {
      Frame f;
      if (std::chrono::steady_clock::now() > deadline || !read_frame(f)) return false;
      if (!handle_control(f)) return false;
    }
    tv = {0, 0};
    setsockopt(socket_.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return true;
  }

  bool read_message(std::string& payload) override {
    while (true) {
      if (!pending_.empty()) {
        payload = std::move(pending_.front());
        pending_.pop_front();
        return true;
      }
      Frame f;
      if (!read_frame(f)) return false;
      if (f.control) {
        if (!handle_control(f)) return false;
        continue;
      }
      if (!stream_is(f.stream, "stdin")) continue;
      if (!f.payload.empty()) pending_.push_back(std::string(1, '\0') + f.payload);
      if (f.flags & kFin) pending_.push_back(std::string("\xff\0", 2));
    }
  }

  bool write_message(const std::string& payload) override {
    if (payload.empty()) return true;
    static const char* kNames[] = {"stdin", "stdout", "stderr", "error"};
    unsigned char channel = static_cast<unsigned char>(payload[0]);
    if (channel > 3) return true;
    uint32_t id = stream_id(kNames[channel]);
    if (id == 0) return true;  // a stream the client did not ask for
    for (size_t off = 1; off < payload.size(); off += 65536)
      if (!send_data(id, payload.substr(off, 65536), 0)) return false;
    return true;
  }

  // Ends the server's side of every stream (the client reads the error stream to its end for the status), then the
  // connection's writing; the client closes once it has the status.
  void close() override {
    std::call_once(closed_, [&] {
      for (const char* name : {"stdout", "stderr", "error"})
        if (uint32_t id = stream_id(name)) send_data(id, "", kFin);
      socket_.finish_writing(10);
    });
  }

 private:
  bool read_frame(Frame& f) {
    unsigned char head[8];
    if (!socket_.read_exact(head, 8)) return false;
    f.control = head[0] & 0x80;
    f.flags = head[4];
    uint32_t length = uint32_t(head[5]) << 16 | uint32_t(head[6]) << 8 | head[7];
    if (f.control) f.type = static_cast<uint16_t>(head[2] << 8 | head[3]);
    else f.stream = get32(head) & 0x7fffffff;
    if (length > (16u << 20)) return false;
    f.payload.assign(length, '\0');
    return length == 0 || socket_.read_exact(reinterpret_cast<unsigned char*>(f.payload.data()), length);
  }

  // SYN_STREAM: reply, and remember the stream by its type; PING: answer; GOAWAY: the end. False: stop.
  bool handle_control(const Frame& f) {
    const auto* p = reinterpret_cast<const unsigned char*>(f.payload.data());
    if (f.type == kSynStream && f.payload.size() >= 10) {
      uint32_t id = get32(p) & 0x7fffffff;
      std::map<std::string, std::string> headers;
      if (!decode_headers(f.payload.substr(10), headers)) return false;
      {
        std::lock_guard lock(streams_mu_);
        streams_[ascii_lower(headers["streamtype"])] = id;
      }
      std::string reply;
      put32(reply, id);
      reply += compress_headers();
      return send_control(kSynReply, 0, reply);
    }
    if (f.type == kPing) return send_control(kPing, 0, f.payload);
    if (f.type == kGoAway) return false;
    if (f.type == kRstStream && f.payload.size() >= 4 && stream_is(get32(p) & 0x7fffffff, "stdin"))
      pending_.push_back(std::string("\xff\0", 2));
    return true;  // SETTINGS, WINDOW_UPDATE (spdystream does no flow control), HEADERS
  }

  uint32_t stream_id(const char* type) {
    std::lock_guard lock(streams_mu_);
    auto it = streams_.find(type);
    return it == streams_.end() ? 0 : it->second;
  }
  bool stream_is(uint32_t id, const char* type) { return id != 0 && stream_id(type) == id; }

  bool decode_headers(const std::string& block, std::map<std::string, std::string>& out) {
    std::string plain;
    inflate_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
    inflate_.avail_in = static_cast<uInt>(block.size());
    unsigned char buf[4096];
    do {
      inflate_.next_out = buf;
      inflate_.avail_out = sizeof buf;
      int rc = inflate(&inflate_, Z_SYNC_FLUSH);
      if (rc == Z_NEED_DICT) {
        if (inflateSetDictionary(&inflate_, reinterpret_cast<const Bytef*>(kDictionary), kDictionarySize) != Z_OK)
          return false;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      plain.append(reinterpret_cast<char*>(buf), sizeof buf - inflate_.avail_out);
      if (rc == Z_BUF_ERROR) break;
    } while (inflate_.avail_in > 0 || inflate_.avail_out == 0);
    const auto* p = reinterpret_cast<const unsigned char*>(plain.data());
    size_t pos = 4;
    if (plain.size() < 4) return false;
    uint32_t count = get32(p);
    auto field = [&](std::string& s) {
      if (pos + 4 > plain.size()) return false;
      uint32_t n = get32(p + pos);
      pos += 4;
      if (pos + n > plain.size()) return false;
      s = plain.substr(pos, n);
      pos += n;
      return true;
    };
    for (uint32_t i = 0; i < count; ++i) {
      std::string name, value;
      if (!field(name) || !field(value)) return false;
      out[ascii_lower(name)] = value;
    }
    return true;
  }

  // An empty header block (a SYN_REPLY needs none), through the session's one compression context.
  std::string compress_headers() {
    std::string plain;
    put32(plain, 0);
    std::lock_guard lock(deflate_mu_);
    deflate_.next_in = reinterpret_cast<Bytef*>(plain.data());
    deflate_.avail_in = static_cast<uInt>(plain.size());
    std::string out;
    unsigned char buf[4096];
    do {
      deflate_.next_out = buf;
      deflate_.avail_out = sizeof buf;
      deflate(&deflate_, Z_SYNC_FLUSH);
      out.append(reinterpret_cast<char*>(buf), sizeof buf - deflate_.avail_out);
    } while (deflate_.avail_out == 0);
    return out;
  }

  bool send_control(uint16_t type, uint8_t flags, const std::string& payload) {
    std::string frame{'\x80', '\x03', static_cast<char>(type >> 8), static_cast<char>(type & 0xff)};
    put32(frame, uint32_t(flags) << 24 | static_cast<uint32_t>(payload.size()));
    return socket_.send_all(frame + payload);
  }
  bool send_data(uint32_t stream, const std::string& data, uint8_t flags) {
    std::string frame;
    put32(frame, stream & 0x7fffffff);
    put32(frame, uint32_t(flags) << 24 | static_cast<uint32_t>(data.size()));
    return socket_.send_all(frame + data);
  }

  UpgradedSocket& socket_;
  z_stream deflate_{}, inflate_{};
  std::mutex deflate_mu_;
  std::mutex streams_mu_;
  std::map<std::string, uint32_t> streams_;  // stream type → the client's stream id
  std::deque<std::string> pending_;          // messages read but not yet returned
  std::once_flag closed_;
};

}  // namespace

bool wants_spdy(const httplib::Request& req) {
  return ascii_lower(req.get_header_value("Upgrade")) == "spdy/3.1" &&
         ascii_lower(req.get_header_value("Connection")).find("upgrade") != std::string::npos;
}

std::string choose_spdy_protocol(const httplib::Request& req) {
  bool v4 = false, v5 = false;
  auto range = req.headers.equal_range("X-Stream-Protocol-Version");
  for (auto it = range.first; it != range.second; ++it) {
    std::string list = it->second + ",";
    for (size_t start = 0, end; (end = list.find(',', start)) != std::string::npos; start = end + 1) {
      std::string p = list.substr(start, end - start);
      p.erase(0, p.find_first_not_of(' '));
      p.erase(p.find_last_not_of(' ') + 1);
      v4 |= p == "v4.channel.k8s.io";
      v5 |= p == "v5.channel.k8s.io";
    }
  }
  // As an API server before 1.30: v4 (v5 over SPDY is v4 anyway).
  return v4 ? "v4.channel.k8s.io" : v5 ? "v5.channel.k8s.io" : "";
}

bool run_spdy(const httplib::Request& req, const std::string& protocol, const ExecSession& session) {
  UpgradedSocket socket(req);
  if (socket.fd() < 0) return false;
  std::string response = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                         "X-Stream-Protocol-Version: " + protocol + "\r\n\r\n";
  if (!socket.send_all(response)) return true;
  auto flag = [&](const char* name) {
    std::string v = req.get_param_value(name);
    return v == "true" || v == "1";
  };
  std::vector<std::string> wanted = {"error"};
  if (flag("stdin")) wanted.push_back("stdin");
  if (flag("stdout")) wanted.push_back("stdout");
  if (flag("stderr") && !flag("tty")) wanted.push_back("stderr");
  if (flag("tty")) wanted.push_back("resize");
  SpdySession spdy(socket);
  if (spdy.await_streams(wanted)) session(spdy);
  spdy.close();
  return true;
}

}  // namespace kubelite
