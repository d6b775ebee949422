#include "kube/exec_spdy.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <map>

namespace arca::kube {
namespace {

// SPDY/3's header-compression dictionary (the SPDY/3 draft, "Compression"): these words, each after its length as
// 4 bytes big-endian, then a run of common values as they are.
const std::string& dictionary() {
  static const std::string d = [] {
    static const char* const kWords[] = {
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
        "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
        "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
        "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
        "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
        "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
        "keep-alive", "origin"};
    std::string out;
    for (std::string_view w : kWords) {
      for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((w.size() >> shift) & 0xff);
      out += w;
    }
    out += "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
           "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
           "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
           "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
           "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
           "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
    return out;
  }();
  return d;
}

constexpr uint16_t kSynStream = 1, kSynReply = 2, kRstStream = 3, kPing = 6, kGoAway = 7, kHeaders = 8;
constexpr uint8_t kFlagFin = 0x01;

void append_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
uint32_t u32_at(std::string_view s, size_t pos) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[pos + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Session {
 public:
  Session(SpdyConnection& c, std::string buffered) : c_(c), in_(std::move(buffered)) {
    deflateInit(&compress_, Z_DEFAULT_COMPRESSION);
    deflateSetDictionary(&compress_, reinterpret_cast<const Bytef*>(dictionary().data()),
                         static_cast<uInt>(dictionary().size()));
    inflateInit(&decompress_);
  }
  ~Session() {
    deflateEnd(&compress_);
    inflateEnd(&decompress_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool open_stream(uint32_t id, const std::string& type) {
    std::string payload;
    append_u32(payload, id);
    append_u32(payload, 0);  // associated-to stream
    payload += std::string(2, '\0');  // priority, slot
    payload += header_block({{"streamtype", type}});
    return control(kSynStream, 0, payload);
  }
  bool data(uint32_t id, std::string_view bytes, bool fin) {
    for (size_t off = 0; off < bytes.size() || (off == 0 && fin); off += 65536) {
      std::string_view piece = bytes.substr(off, 65536);
      bool last = off + piece.size() >= bytes.size();
      std::string frame;
      append_u32(frame, id & 0x7fffffff);
      append_u32(frame, uint32_t(fin && last ? kFlagFin : 0) << 24 | static_cast<uint32_t>(piece.size()));
      frame += piece;
      if (!c_.write(frame)) return false;
      if (bytes.empty()) break;
    }
    return true;
  }
  bool control(uint16_t type, uint8_t flags, const std::string& payload) {
    std::string frame{'\x80', '\x03', static_cast<char>(type >> 8), static_cast<char>(type & 0xff)};
    append_u32(frame, uint32_t(flags) << 24 | static_cast<uint32_t>(payload.size()));
    return c_.write(frame + payload);
  }

  struct Frame {
    bool control = false;
    uint16_t type = 0;
    uint32_t stream = 0;  // of a data frame, or of a control frame that names one
    uint8_t flags = 0;
    std::string payload;
  };
  // False at the end of the connection or on a malformed frame (`error` says which).
  bool next(Frame& f, std::string& error) {
    if (!fill(8)) return false;
    f.control = static_cast<unsigned char>(in_[0]) & 0x80;
    f.flags = static_cast<uint8_t>(in_[4]);
    uint32_t length = u32_at(in_, 4) & 0xffffff;
    if (f.control) f.type = static_cast<uint16_t>(static_cast<unsigned char>(in_[2]) << 8 | static_cast<unsigned char>(in_[3]));
    else f.stream = u32_at(in_, 0) & 0x7fffffff;
    if (!fill(8 + length)) return false;
    f.payload = in_.substr(8, length);
    in_.erase(0, 8 + length);
    if (f.control && f.payload.size() >= 4) f.stream = u32_at(f.payload, 0) & 0x7fffffff;
    // Every header block goes through the one decompression context, whether or not its headers matter.
    if (f.control && (f.type == kSynReply || f.type == kHeaders) && !inflate_block(f.payload.substr(4))) {
      error = "the server's SPDY header block does not decompress";
      return false;
    }
    return true;
  }

 private:
  bool fill(size_t n) {
    char buf[65536];
    while (in_.size() < n) {
      long got = c_.read(buf, sizeof buf);
      if (got <= 0) return false;
      in_.append(buf, static_cast<size_t>(got));
    }
    return true;
  }

  std::string header_block(const std::map<std::string, std::string>& headers) {
    std::string plain;
    append_u32(plain, static_cast<uint32_t>(headers.size()));
    for (const auto& [name, value] : headers) {
      append_u32(plain, static_cast<uint32_t>(name.size()));
      plain += name;
      append_u32(plain, static_cast<uint32_t>(value.size()));
      plain += value;
    }
    compress_.next_in = reinterpret_cast<Bytef*>(plain.data());
    compress_.avail_in = static_cast<uInt>(plain.size());
    std::string out;
    std::array<unsigned char, 4096> buf;
    do {
      compress_.next_out = buf.data();
      compress_.avail_out = buf.size();
      deflate(&compress_, Z_SYNC_FLUSH);
      out.append(reinterpret_cast<char*>(buf.data()), buf.size() - compress_.avail_out);
    } while (compress_.avail_out == 0);
    return out;
  }

  bool inflate_block(const std::string& block) {
    decompress_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
    decompress_.avail_in = static_cast<uInt>(block.size());
    std::array<unsigned char, 4096> buf;
    while (decompress_.avail_in > 0) {
      decompress_.next_out = buf.data();
      decompress_.avail_out = buf.size();
      int rc = inflate(&decompress_, Z_SYNC_FLUSH);
      if (rc == Z_NEED_DICT) {
        if (inflateSetDictionary(&decompress_, reinterpret_cast<const Bytef*>(dictionary().data()),
                                 static_cast<uInt>(dictionary().size())) != Z_OK)
          return false;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      if (rc == Z_BUF_ERROR && decompress_.avail_out == buf.size()) break;  // no progress possible
    }
    return true;
  }

  SpdyConnection& c_;
  std::string in_;  // read, not yet parsed
  z_stream compress_{}, decompress_{};
};

// Reads the upgrade's response head; what follows it (SPDY frames, or an error's body) stays in `rest`.
bool read_head(SpdyConnection& c, int& status, std::map<std::string, std::string>& headers, std::string& rest) {
  char buf[4096];
  size_t end;
  while ((end = rest.find("\r\n\r\n")) == std::string::npos) {
    if (rest.size() > (64u << 10)) return false;
    long got = c.read(buf, sizeof buf);
    if (got <= 0) return false;
    rest.append(buf, static_cast<size_t>(got));
  }
  std::string head = rest.substr(0, end);
  rest.erase(0, end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  size_t sp = status_line.find(' ');
  if (sp == std::string::npos) return false;
  status = std::atoi(status_line.c_str() + sp + 1);
  for (size_t pos = line_end; pos != std::string::npos && pos < head.size();) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (size_t colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers[lowercase(line.substr(0, colon))] = value;
    }
    pos = next;
  }
  return status > 0;
}

}  // namespace

int exec_over_spdy(SpdyConnection& connection, const SpdyUpgrade& upgrade, const ExecRequest& request,
                   ExecResult& out, std::string& refusal_body) {
  const std::string what = "exec into pod " + request.namespace_name + "/" + request.pod;
  std::string head = "POST " + upgrade.target + " HTTP/1.1\r\nHost: " + upgrade.host_header +
                     "\r\nUser-Agent: " + upgrade.user_agent + "\r\n";
  if (!upgrade.authorization.empty()) head += "Authorization: " + upgrade.authorization + "\r\n";
  head += "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
          "Content-Length: 0\r\n\r\n";
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string rest;
  if (!connection.write(head) || !read_head(connection, status, headers, rest)) {
    out.error = what + ": no answer to the SPDY upgrade";
    return 0;
  }
  if (status != 101) {
    // The refusal's Status, as far as its Content-Length says (an API server's errors carry one).
    size_t length = headers.count("content-length") ? std::strtoul(headers["content-length"].c_str(), nullptr, 10) : 0;
    char buf[4096];
    while (rest.size() < length && rest.size() < (1u << 20)) {
      long got = connection.read(buf, sizeof buf);
      if (got <= 0) break;
      rest.append(buf, static_cast<size_t>(got));
    }
    refusal_body = rest.substr(0, length);
    return status;
  }
  if (lowercase(headers["upgrade"]) != "spdy/3.1") {
    out.error = what + ": the server upgraded to \"" + headers["upgrade"] + "\", not SPDY/3.1";
    return status;
  }
  out.protocol = headers["x-stream-protocol-version"];
  if (out.protocol != "v4.channel.k8s.io") {
    out.error = what + ": the server chose no channel protocol arca speaks over SPDY (\"" + out.protocol + "\")";
    return status;
  }
  out.protocol = "SPDY/3.1+" + out.protocol;

  // The client's streams get odd ids; the error stream comes first, as client-go opens it.
  enum : uint32_t { kError = 1, kStdin = 3, kStdout = 5, kStderr = 7 };
  Session session(connection, std::move(rest));
  std::map<uint32_t, bool> replied = {{kError, false}, {kStdout, false}, {kStderr, false}};
  if (request.stdin_data) replied[kStdin] = false;
  bool sent = session.open_stream(kError, "error") && (!request.stdin_data || session.open_stream(kStdin, "stdin")) &&
              session.open_stream(kStdout, "stdout") && session.open_stream(kStderr, "stderr");
  std::map<uint32_t, bool> ended = {{kError, false}, {kStdout, false}, {kStderr, false}};
  std::string status_json, error;
  bool stdin_sent = !request.stdin_data;
  Session::Frame f;
  while (sent && !(ended[kError] && ended[kStdout] && ended[kStderr]) && session.next(f, error)) {
    if (f.control) {
      if (f.type == kSynReply && replied.count(f.stream)) replied[f.stream] = true;
      if (f.type == kPing && !session.control(kPing, 0, f.payload)) break;
      if (f.type == kRstStream && ended.count(f.stream)) ended[f.stream] = true;
      if (f.type == kGoAway) break;
      // A kubelet drops data on a stream it has not replied to yet: stdin goes once every stream is answered.
      if (!stdin_sent && std::all_of(replied.begin(), replied.end(), [](const auto& r) { return r.second; })) {
        stdin_sent = true;
        if (!session.data(kStdin, *request.stdin_data, true)) break;
      }
      continue;
    }
    if (f.stream == kStdout) out.stdout_data += f.payload;
    else if (f.stream == kStderr) out.stderr_data += f.payload;
    else if (f.stream == kError) status_json += f.payload;
    if ((f.flags & kFlagFin) && ended.count(f.stream)) ended[f.stream] = true;
  }
  session.control(kGoAway, 0, std::string(8, '\0'));
  if (!error.empty()) {
    out.error = what + ": " + error;
  } else if (!ended[kError]) {
    out.error = what + ": the stream ended without a status";
  } else if (status_json.empty()) {
    out.exit_code = 0;  // client-go's watchErrorStream: an error stream closed empty means success
  } else if (auto code = decode_exit_status(status_json, error)) {
    out.exit_code = *code;
  } else {
    out.error = error;
  }
  return status;
}

}  // namespace arca::kube
