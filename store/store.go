// Package store persists feedd's state in SQLite: the poll state of each feed, the articles seen
// (with the keys the duplicate decision looks up) and the outbox of messages waiting for a
// JetStream acknowledgement.
//
// # Durability
//
// The database runs in WAL mode with synchronous=NORMAL. A transaction is appended to the WAL
// when it commits, and the WAL is synced to disk at each checkpoint rather than at every commit.
// Against a killed process this is exactly as safe as synchronous=FULL: a committed transaction
// is in the operating system's cache and survives. A power cut or kernel crash may lose the last
// few committed transactions, but never corrupts the database and never splits one: because an
// article and its outbox row are written in the same transaction, they are lost together, the
// item is fetched again on the next poll, recorded again and published again with the same
// Nats-Msg-Id, which JetStream's duplicate window absorbs. In exchange a commit costs no fsync.
//
// # Time
//
// Times are stored as INTEGER unix milliseconds (UTC); NULL stands for the zero time.Time.
// They come back as UTC times truncated to the millisecond.
//
// # Concurrency
//
// A Store is safe for concurrent use. It holds one *sql.DB with up to four
// connections. Write transactions are serialised inside the Store (one at a time, waiting
// honours the context), so writers of this process never contend for SQLite's write lock and
// never see SQLITE_BUSY; reads run on the other connections concurrently with the writer, which
// WAL allows. Transactions begin IMMEDIATE and connections wait up to 5 s for a lock held by
// another process (such as a second feedd command on the same file).
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// maxOpenConns caps the connection pool: one connection serves the (serialised) writer at a
// time and the rest serve concurrent readers. SQLite reads take microseconds, so a handful is
// plenty for the pipeline's workers.
const maxOpenConns = 4

// Store is the SQLite database of one feedd instance. Create it with [Open]; it is safe for
// concurrent use.
type Store struct {
	db   *sql.DB
	path string
	// writeSlot has capacity one: a goroutine holds it for the duration of a write transaction.
	writeSlot chan struct{}
	// writeErr holds the error of the last failed write when it was the database's fault (disk
	// full, I/O, read-only, corrupt, locked), until a write succeeds. Ping reports it.
	writeErr atomic.Pointer[error]
	// unsent counts the unsent outbox messages: counted once at Open, then kept by the writes that
	// queue messages and mark them sent, so that Unsent costs no query.
	unsent atomic.Int64
}

// Open opens the database at path, creating it and its parent directory (mode 0o750) when
// missing, and brings its schema up to date. path must name a file; ":memory:" is not
// supported.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("store: open %q: path must name a file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector{dsn: dsn(abs)})
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	s := &Store{db: db, path: path, writeSlot: make(chan struct{}, 1)}
	if err := s.initRetrying(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.countUnsent(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// initRetrying runs init, retrying for a few seconds while another process holds the lock:
// switching a new file to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at once
// (the busy timeout does not apply) when two processes create the same database together.
func (s *Store) initRetrying(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		err := classify(s.init(ctx))
		if err == nil || !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// OpenReadOnly opens an existing database for reading only: no directory or file is created, no
// migration runs (a database written by a newer feedd is refused), and nothing is written, so it
// is safe beside a running daemon, for `feedd feeds`.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", "5000")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite3", u.String())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, classify(err))
	}
	if v > len(migrations) {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: schema version %d is newer than this build's %d", path, v, len(migrations))
	}
	return &Store{db: db, path: path, writeSlot: make(chan struct{}, 1)}, nil
}

// dsn builds the go-sqlite3 data source name for an absolute file path: a file: URI, so that a
// path holding '?', '#' or '%' is escaped rather than misread, with the connection settings as
// query parameters (the driver applies them to every new connection).
func dsn(abs string) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL") // see the package documentation: Durability
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate") // take the write lock at BEGIN: no deadlocking lock upgrades
	q.Set("_stmt_cache_size", "32")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// walCheckpointPages is the WAL size, in 4 KiB pages, at which a commit copies the WAL back
// into the database (SQLite's default is 1000). Each checkpoint syncs both files, and the commit
// that runs it waits; with full-text articles in the outbox, the default checkpointed a few
// times a second under load. At 16 MiB the syncs are about 16 times rarer; the WAL file grows to
// that size before it is reused.
const walCheckpointPages = 4096

// connector opens go-sqlite3 connections with the settings that a DSN cannot carry.
type connector struct{ dsn string }

var driverWithHook = &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", walCheckpointPages), nil)
	return err
}}

func (c connector) Connect(context.Context) (driver.Conn, error) { return driverWithHook.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return driverWithHook }

func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal (is the file system local?)", mode)
	}
	return s.migrate(ctx)
}

// Close closes the database. The Store must not be used afterwards.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// Ping reports whether the database is usable: it answers a query, carries the schema this build
// expects, and the last write did not fail for want of space, I/O or permission (a full disk
// shows here until a write succeeds again).
func (s *Store) Ping(ctx context.Context) error {
	if p := s.writeErr.Load(); p != nil {
		return fmt.Errorf("store: %s: last write failed (%s): %w", s.path, describe(*p), *p)
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.path, classify(err))
	}
	if v != len(migrations) {
		return fmt.Errorf("store: ping %s: schema version %d, want %d", s.path, v, len(migrations))
	}
	return nil
}

// write runs fns, in order, in one write transaction and commits it; the first error rolls
// everything back. Only one write transaction of this Store runs at a time.
func (s *Store) write(ctx context.Context, fns ...func(tx *sql.Tx) error) (err error) {
	defer func() { s.noteWrite(err) }()
	select {
	case s.writeSlot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writeSlot }()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, fn := range fns {
		if err := fn(tx); err != nil {
			_ = tx.Rollback() // the error that matters is err; the tx is gone either way
			return err
		}
	}
	return tx.Commit()
}

// quiet returns ctx without its cancellation or deadline, for short statements, or ctx's error
// when it has already ended. go-sqlite3 watches a cancellable context with a goroutine of its own
// for every statement it executes, and database/sql does the same for every query: on the ingest
// path that is several goroutines and thread wake-ups per article, which cost more than the
// statements. The statements run under quiet are short (a database locked by another process
// makes them wait at most the busy timeout), and each checks ctx before it starts. Only the
// statements run quietly: waiting for a connection (see conn) or for the write slot, and
// BeginTx, still honour ctx.
func quiet(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// conn takes a connection from the pool, waiting at most as long as ctx allows, and returns it
// with quiet(ctx) for the statements run on it. The caller closes the connection.
func (s *Store) conn(ctx context.Context) (*sql.Conn, context.Context, error) {
	qctx, err := quiet(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, qctx, nil
}

// describe names the class of a write error in words, such as "disk full".
func describe(err error) string {
	for _, e := range []error{ErrFull, ErrIO, ErrReadOnly, ErrCorrupt, ErrBusy} {
		if errors.Is(err, e) {
			return strings.TrimPrefix(e.Error(), "store: ")
		}
	}
	return "error"
}

// noteWrite remembers a write error that makes the database unusable, and forgets it once a
// write succeeds. Conflicts and cancellations say nothing about the database's health.
func (s *Store) noteWrite(err error) {
	if err == nil {
		s.writeErr.Store(nil)
		return
	}
	err = classify(err)
	for _, bad := range []error{ErrFull, ErrIO, ErrReadOnly, ErrCorrupt, ErrBusy} {
		if errors.Is(err, bad) {
			s.writeErr.Store(&err)
			return
		}
	}
}

// millis converts t to the stored form: unix milliseconds, or NULL for the zero time.
func millis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// sinceMillis converts a lower bound: the zero time means no bound.
func sinceMillis(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMilli()
}

// fromMillis converts a stored time back: NULL becomes the zero time, the rest UTC.
func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}
