// Package h2race sends two HTTP/2 requests so that they reach the server
// together, and tells which was answered first: the client of the
// scanner's order test (scan.OrderCheck).
//
// Its frames are sequenced by hand, on golang.org/x/net/http2's Framer and
// hpack encoder, because the test needs what an HTTP/2 client does not
// offer: http2.Transport decides itself when each request's frames are
// written and flushed (headers, then body as flow control allows), so it
// cannot put the final frames of two requests into one write, and one
// write is what makes them one TCP packet.
package h2race

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Request is one side of a race: the request (its method, URL, Host and
// headers; its body is Body), the cookies to send with it, and its body.
type Request struct {
	Req     *http.Request
	Cookies []*http.Cookie
	Body    []byte
}

// Check opens a connection and closes it again; the error is ErrNoHTTP2
// if the target does not speak HTTP/2.
func (d *Dialer) Check(ctx context.Context) error {
	c, err := d.Dial(ctx)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// ErrNoHTTP2 is a target that does not speak HTTP/2.
var ErrNoHTTP2 = errors.New("target does not speak HTTP/2")

const (
	// h2MaxFrame is the largest frame every HTTP/2 peer accepts (RFC
	// 9113 §4.2): the test neither sends nor accepts larger ones.
	h2MaxFrame = 16384
	// h2Window is the flow-control window the test grants the server,
	// for the connection and each stream, so that no answer waits for a
	// window update.
	h2Window = 1 << 30
	// h2DefaultWindow is a peer's window before its settings say
	// otherwise.
	h2DefaultWindow = 65535
)

// Conn is one HTTP/2 connection of the order test. Frames are built in
// buf and leave by flush, each flush one conn.Write.
type Conn struct {
	conn  net.Conn
	fr    *http2.Framer
	buf   bytes.Buffer // frames not yet written
	enc   *hpack.Encoder
	block bytes.Buffer // the header block being encoded
	stop  func() bool
	// maxBody bounds what a race reads of the answers.
	maxBody int
}

// Dialer opens the order test's connections to one target.
type Dialer struct {
	addr    string
	tls     *tls.Config // nil: clear text
	timeout time.Duration
	maxBody int
	// Watch, if set, is handed each connection once it speaks HTTP/2,
	// and the connection's frames go through what it returns (tests
	// record the writes).
	Watch func(net.Conn) net.Conn
}

// NewDialer returns the dialer of u's host, with the timeout and the TLS
// settings (the roots it trusts, say) of client. Its TLS sessions are
// resumed: thousands of full handshakes would cost the target more than
// the test's requests. A race stops reading once the answers' bodies
// passed maxBody bytes.
func NewDialer(u *url.URL, client *http.Client, maxBody int) *Dialer {
	d := &Dialer{timeout: client.Timeout, maxBody: maxBody}
	if d.timeout <= 0 {
		d.timeout = 30 * time.Second
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	d.addr = net.JoinHostPort(u.Hostname(), port)
	if u.Scheme == "https" {
		d.tls = &tls.Config{}
		if tr, ok := client.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
			d.tls = tr.TLSClientConfig.Clone()
		}
		d.tls.NextProtos = []string{"h2", "http/1.1"}
		if d.tls.ClientSessionCache == nil {
			d.tls.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		}
	}
	return d
}

// Dial opens an HTTP/2 connection: TLS with ALPN h2, or HTTP/2 with prior
// knowledge in clear text. It returns ErrNoHTTP2 when the server chooses
// another protocol or does not answer the connection preface with its
// settings.
func (d *Dialer) Dial(ctx context.Context) (*Conn, error) {
	var nd net.Dialer
	var conn net.Conn
	var err error
	if d.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: &nd, Config: d.tls}).DialContext(ctx, "tcp", d.addr)
		if err == nil && conn.(*tls.Conn).ConnectionState().NegotiatedProtocol != "h2" {
			conn.Close()
			return nil, ErrNoHTTP2
		}
	} else {
		conn, err = nd.DialContext(ctx, "tcp", d.addr)
	}
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(d.timeout)) // a fresh connection takes any deadline
	c := &Conn{conn: conn}
	// A cancelled scan ends the connection's reads and writes at once.
	c.stop = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c.fr = http2.NewFramer(&c.buf, conn)
	// An HTTP/1 answer to the preface ("HTTP/1.1 400 …") reads as the
	// header of a frame of megabytes: refused at once rather than waited
	// for.
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.block)
	c.buf.WriteString(http2.ClientPreface)
	_ = c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window})
	_ = c.fr.WriteWindowUpdate(0, h2Window-h2DefaultWindow)
	if err := c.flush(); err != nil {
		c.Close()
		return nil, err
	}
	f, err := c.fr.ReadFrame()
	if sf, ok := f.(*http2.SettingsFrame); err != nil || !ok || sf.IsAck() {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrNoHTTP2
	}
	_ = c.fr.WriteSettingsAck() // leaves with the first request
	if d.Watch != nil {
		c.conn = d.Watch(c.conn)
	}
	c.maxBody = d.maxBody
	return c, nil
}

// Close closes the connection.
func (c *Conn) Close() {
	c.stop()
	c.conn.Close()
}

// flush writes the frames built so far in one write.
func (c *Conn) flush() error {
	_, err := c.conn.Write(c.buf.Bytes())
	c.buf.Reset()
	return err
}

// Race sends rs[0] on stream 1 and rs[1] on stream 3, and reports whether the answer to the first came first, and the statuses.
//
// Everything but each request's final bytes goes first: its headers and
// all of its body but the last byte (a server that parses the body as it
// arrives must not finish before the last byte). A PING and its answer
// make sure the server has read that much. Then the final bytes of both,
// the last byte in a DATA frame that ends the stream (or, without a body,
// the whole HEADERS frame), leave in one write.
func (c *Conn) Race(rs [2]Request) (kept bool, status [2]int, err error) {
	var order []int
	var ended [2]bool
	var ping [8]byte
	pinged, received := false, 0
	track := func(f http2.Frame) {
		id := f.Header().StreamID
		i := int(id-1) / 2
		if id != 1 && id != 3 {
			if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == ping {
				pinged = true
			}
			return
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			// Informational answers (1xx) come before the answer.
			if st, _ := strconv.Atoi(f.PseudoValue("status")); status[i] == 0 && st >= 200 {
				status[i] = st
				order = append(order, i)
			}
			ended[i] = ended[i] || f.StreamEnded()
		case *http2.DataFrame:
			received += len(f.Data())
			ended[i] = ended[i] || f.StreamEnded()
		}
	}
	bodies := [2][]byte{rs[0].Body, rs[1].Body}
	for i, p := range rs {
		if len(bodies[i]) > h2MaxFrame {
			return false, status, fmt.Errorf("a body of %d bytes is more than the order test sends (%d)", len(bodies[i]), h2MaxFrame)
		}
		if len(bodies[i]) == 0 {
			continue
		}
		if err := c.writeHeaders(i, p, false); err != nil {
			return false, status, err
		}
		if n := len(bodies[i]) - 1; n > 0 {
			_ = c.fr.WriteData(uint32(2*i+1), false, bodies[i][:n])
		}
	}
	if c.buf.Len() > 0 {
		copy(ping[:], "tacitord")
		_ = c.fr.WritePing(false, ping)
		if err := c.flush(); err != nil {
			return false, status, err
		}
		if err := c.read(track, func() bool { return pinged }); err != nil {
			return false, status, err
		}
	}
	for i, p := range rs {
		if len(bodies[i]) == 0 {
			if err := c.writeHeaders(i, p, true); err != nil {
				return false, status, err
			}
			continue
		}
		_ = c.fr.WriteData(uint32(2*i+1), true, bodies[i][len(bodies[i])-1:])
	}
	if err := c.flush(); err != nil {
		return false, status, err
	}
	err = c.read(track, func() bool { return ended[0] && ended[1] || received > c.maxBody })
	if err != nil {
		return false, status, err
	}
	if len(order) < 2 {
		return false, status, errors.New("a stream ended without an answer")
	}
	return order[0] == 0, status, nil
}

// writeHeaders writes the HEADERS frame of p on the stream of index i;
// end marks it the request's last frame.
func (c *Conn) writeHeaders(i int, p Request, end bool) error {
	block := c.headerBlock(p)
	if len(block) > h2MaxFrame {
		return fmt.Errorf("request headers of %d bytes are more than the order test sends (%d)", len(block), h2MaxFrame)
	}
	return c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: block, EndStream: end, EndHeaders: true})
}

// h2Forbidden are the HTTP/1 headers HTTP/2 forbids (RFC 9113 §8.2.2);
// Host becomes :authority.
var h2Forbidden = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true, "transfer-encoding": true, "upgrade": true, "te": true, "host": true}

// headerBlock encodes p as an HTTP/2 header block: the pseudo-headers,
// its headers, its cookies, and its body's length. Blocks must be encoded in the order they are sent: the
// encoder's table is shared with the server's decoder.
func (c *Conn) headerBlock(p Request) []byte {
	req := p.Req
	authority := req.Host
	if authority == "" {
		authority = req.URL.Host
	}
	c.block.Reset()
	put := func(name, value string) { _ = c.enc.WriteField(hpack.HeaderField{Name: name, Value: value}) } // writes to a bytes.Buffer
	put(":method", req.Method)
	put(":scheme", req.URL.Scheme)
	put(":authority", authority)
	put(":path", req.URL.RequestURI())
	for _, name := range slices.Sorted(maps.Keys(req.Header)) {
		if lower := strings.ToLower(name); !h2Forbidden[lower] {
			for _, v := range req.Header[name] {
				put(lower, v)
			}
		}
	}
	var cookies []string
	for _, ck := range p.Cookies {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	if len(cookies) > 0 {
		put("cookie", strings.Join(cookies, "; "))
	}
	if n := len(p.Body); n > 0 {
		put("content-length", strconv.Itoa(n))
	}
	return bytes.Clone(c.block.Bytes())
}

// read reads frames, passing each to track, until done; it answers the
// server's settings and pings, and fails on a reset stream or a
// connection closed with an error.
func (c *Conn) read(track func(http2.Frame), done func() bool) error {
	for !done() {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = c.fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = c.fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			if f.ErrCode != http2.ErrCodeNo {
				return fmt.Errorf("the server closed the connection: %v %q", f.ErrCode, f.DebugData())
			}
		case *http2.RSTStreamFrame:
			return fmt.Errorf("the server reset stream %d: %v", f.StreamID, f.ErrCode)
		}
		if c.buf.Len() > 0 {
			if err := c.flush(); err != nil {
				return err
			}
		}
		track(f)
	}
	return nil
}
