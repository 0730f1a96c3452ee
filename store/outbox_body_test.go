package store

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"maps"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// TestMigrateOutboxBodiesFromV4 writes pending and sent messages as schema version 4 kept them,
// with the body in the outbox row, and checks that after migration 5 every pending message
// comes back whole, in order, and that pruning sent messages removes their bodies.
func TestMigrateOutboxBodiesFromV4(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "feedd.db")
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:4] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if _, err := db.ExecContext(ctx, "PRAGMA user_version = 4"); err != nil {
		t.Fatal(err)
	}
	var want []Message
	for i := range 5 {
		_, m := testArticle(i)
		m.Data = bytes.Repeat([]byte{byte('a' + i)}, 5000+i) // overflow pages, as real articles
		header, err := encodeHeader(m.Header)
		if err != nil {
			t.Fatal(err)
		}
		var sent sql.NullInt64
		if i%2 == 1 {
			sent = sql.NullInt64{Int64: base.Add(-time.Hour).UnixMilli(), Valid: true}
		} else {
			want = append(want, m)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO outbox (msg_id, subject, header, data, created_at, sent_at)
VALUES (?, ?, ?, ?, ?, ?)`, m.MsgID, m.Subject, header, m.Data, m.CreatedAt.UnixMilli(), sent); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openAt(t, path)
	if got := userVersion(t, s); got != len(migrations) {
		t.Fatalf("user_version = %d, want %d", got, len(migrations))
	}
	got, err := s.Pending(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d pending messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].MsgID != want[i].MsgID || !bytes.Equal(got[i].Data, want[i].Data) || !maps.Equal(got[i].Header, want[i].Header) {
			t.Errorf("pending %d: got %s (%d bytes, header %v), want %s (%d bytes, header %v)", i,
				got[i].MsgID, len(got[i].Data), got[i].Header, want[i].MsgID, len(want[i].Data), want[i].Header)
		}
	}
	if _, err := s.PruneSent(ctx, base); err != nil {
		t.Fatal(err)
	}
	var bodies int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox_body`).Scan(&bodies); err != nil {
		t.Fatal(err)
	}
	if bodies != len(want) {
		t.Errorf("after pruning the sent messages: %d bodies left, want %d", bodies, len(want))
	}
}

func TestDecodeHeaderRoundTrip(t *testing.T) {
	for _, h := range []map[string]string{
		{"Nats-Msg-Id": "abc", "ce-type": "feedd.article.new", "ce-source": "http://127.0.0.1:8080/feed.xml"},
		{"a": `quote " and backslash \`, "b": "سطر\nجديد", "c": "\u2028"},
		{"": ""},
		{"k": "{\"x\":1}", "l": ",:"},
	} {
		s, err := encodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := decodeHeader(s, &got); err != nil {
			t.Fatalf("decodeHeader(%s): %v", s, err)
		}
		if !maps.Equal(got, h) {
			t.Errorf("decodeHeader(%s) = %v, want %v", s, got, h)
		}
	}
}

// FuzzDecodeHeader: whatever encoding/json reads as an object of strings, decodeHeader reads the
// same; and every header encodeHeader writes comes back.
func FuzzDecodeHeader(f *testing.F) {
	f.Add(`{"a":"b","c":"d"}`, "k", "v")
	f.Add(`{"a":"b",}`, "", "")
	f.Add(`{"a":1}`, "x", `"`)
	f.Fuzz(func(t *testing.T, s, k, v string) {
		var want map[string]string
		if json.Unmarshal([]byte(s), &want) == nil && want != nil {
			var got map[string]string
			if err := decodeHeader(s, &got); err != nil || !maps.Equal(got, want) {
				t.Errorf("decodeHeader(%q) = %v, %v; encoding/json reads %v", s, got, err, want)
			}
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return // encoding/json writes invalid UTF-8 as U+FFFD: no round trip to expect
		}
		h := map[string]string{k: v, "ce-type": "feedd.article.new"}
		enc, err := encodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := decodeHeader(enc, &got); err != nil || !maps.Equal(got, h) {
			t.Errorf("round trip of %v through %s: got %v, %v", h, enc, got, err)
		}
	})
}

// TestEncodeHeaderIsJSON: with or without escapes, the header is a JSON object that encoding/json
// reads back as the same map.
func TestEncodeHeaderIsJSON(t *testing.T) {
	for _, h := range []map[string]string{
		{"Nats-Msg-Id": "abc", "ce-source": "http://x.example/rss.php?a=1&b=<2>", "ce-type": "feedd.article.new"},
		{"ar": "#مصراتة", "ce-id": "1f"},
		{"ar": "مصراتة", "nl": "a\nb", "q": `"`, "bs": `\`, "bad": "\xff", "fffd": "\ufffd"},
	} {
		s, err := encodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(s), &got); err != nil {
			t.Fatalf("encodeHeader(%v) = %s, not JSON: %v", h, s, err)
		}
		want := maps.Clone(h)
		if want["bad"] != "" {
			want["bad"] = "\ufffd" // encoding/json's replacement for invalid UTF-8
		}
		if !maps.Equal(got, want) {
			t.Errorf("encodeHeader(%v) = %s, reads back as %v", h, s, got)
		}
	}
}
