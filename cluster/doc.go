// Package cluster runs feedd as several replicas on a NATS cluster, one of them leading: the
// leader lease, the feed state in a key-value bucket, and following the article stream on a
// standby. It uses nats.go's jetstream package only, through its KeyValue and ordered consumer
// APIs, and knows nothing of feeds or articles beyond store.Feed.
//
// The replicas of one deployment share a name (cluster.name) and three things on the cluster:
//
//   - the bucket <name>_lease, whose key "leader" is the lease ([EnsureLeaseBucket], [Elector],
//     [Lease]);
//   - the bucket <name>_feeds, one key per feed id, written by the leader ([Feeds]);
//   - the ARTICLES stream, which the leader publishes to and every standby follows ([Follower]).
//
// # The lease
//
// The lease bucket keeps one revision per key, and its TTL (the stream's max age) is
// cluster.lease_ttl. Acquiring is Create (it succeeds only when the key has no live entry);
// renewing is Update at the revision the leader wrote last, every third of the TTL. Each write
// starts the entry's age again, so the entry expires one TTL after the last renewal the server
// stored. The term's epoch is the revision of its Create: terms get larger epochs, and
// publications carry it in the Feedd-Epoch header ([EpochHeader]) so that a reader of the stream
// can show that no two terms published at once (epochs never decrease in stream order).
//
// Why the bucket's TTL and not a per-key TTL: in nats.go 1.55 a per-key TTL (KeyTTL) is given
// only to Create, and Update writes without one ("Update also resets the TTL"), so the first
// renewal would make the lease immortal; renewing with a raw publish carrying Nats-TTL would
// leave the KeyValue API. The bucket is given LimitMarkerTTL (nats-server 2.11 and later): when
// the entry expires the server writes a delete marker, which wakes the watching standbys at
// once, and in a cluster the expiry is proposed by the stream's leader, so every server expires
// the entry at the same point of the log.
//
// A leader never acts on a stale lease. It measures from when it sent its last acknowledged
// write of the entry (the server stored it no earlier, so the entry lives at least one TTL from
// then) and ends its term at three quarters of the TTL after that, by a timer that does not wait
// for the renewal in flight; [Lease.Check] compares with that deadline itself. A renewal that
// fails is retried every twelfth of the TTL, each attempt bounded to a quarter of it; a renewal
// that finds another term's entry ends the term at once (ErrDeposed), and one that finds its
// own later revision (a lost acknowledgement) adopts it. The quarter of the TTL left between
// the leader's stop and the entry's expiry is for what the leader had in flight to land (the
// publisher's timeouts must fit in it) and for the NATS servers' clocks: the server that stamps
// a renewal and the one that expires it may differ, and their clocks must agree to within that
// margin.
//
// A standby campaigns by trying Create at once, at every delete marker it is told of, and every
// quarter of the TTL. After a leader dies, a standby leads within about one TTL from the dead
// leader's last renewal (the server checks ages at least every 250 ms). A leader that resigns
// (graceful shutdown, [Lease.Resign]) deletes the entry, and a standby takes over at once.
//
// The lease lives in JetStream, so it is only as available as the lease stream's Raft group. A
// NATS server that stops cleanly (SIGTERM, lame duck mode) hands its leaderships over at once;
// one that crashes while leading the group leaves it to an election, 4 to 9 s in nats-server
// 2.15, during which renewals fail. With the default lease_ttl of 10 s the leader has 7.5 s from
// its last renewal and usually rides it out; with a shorter TTL it gives up its term (safely,
// and a standby or itself leads again after the election).
//
// # Feed state
//
// [Feeds] keeps each feed's store.Feed (ETag, Last-Modified, next poll, moved URL, failures,
// last error, …) in <name>_feeds as JSON, with the epoch of the term that wrote it. A write
// reads the entry, refuses it when the entry carries a later epoch (ErrDeposed), and writes
// conditionally on the revision it read, so a later term's write in between is seen. A new
// leader calls [Feeds.Claim] before it polls: every entry then carries its epoch, and a deposed
// leader's write fails even if its own clock told it that it still leads.
//
// The daemon must keep the rule it has on one machine: a feed's validators (ETag,
// Last-Modified) are written only once the items of that fetch are safe, which with a cluster
// means acknowledged by JetStream, not merely recorded in the leader's SQLite file. Otherwise a
// new leader's conditional GET is answered 304 and what the dead leader had not published waits
// until the feed changes.
//
// # Following the stream
//
// A standby's repeat keys and duplicate index come from the ARTICLES stream: [Follower] reads it
// with an ordered consumer from the sequence after the last one the standby applied (which the
// caller stores with the state it feeds, in one transaction) and hands each message to a
// callback. A new leader calls [Follower.WaitCaughtUp] after it has won the lease and before it
// polls: nobody else publishes then, and once it has applied everything the stream held, its
// state holds everything its predecessors published.
//
// What the duplicate index needs is each article's fingerprint. BenchmarkStandbyIndex measures
// recomputing it from the message's text (decode the JSON, Decide, Record) against reading it
// from a header the leader would add (decode the JSON, decode the header, Restore). On two
// development days (7.0 KB of JSON per message, a 440-byte header), side by side, medians on a
// shared 2-core machine: recompute 159 µs, header 117 µs (1.37 times less), of which decoding
// the JSON is 101 µs; the fingerprint alone costs 58 µs recomputed and 9 µs from the header
// (6.5 times less). Either is far below the rate at which news arrives (a million articles
// replay in under three minutes). Recomputing needs no new header in the public contract and
// rebuilds the document frequencies in full, as the leader's are; the header would make the
// standby's fingerprints byte for byte the leader's (the rare words a fingerprint keeps depend
// on the frequencies when it was made) at 6% more bytes per message. Recomputing is the
// default this package assumes.
//
// # What a failover relies on
//
//   - Items still in the feeds. What the dead leader fetched and recorded but did not publish
//     lives only in its SQLite file; the new leader reads it again from the feed at its next
//     poll and publishes it. An item that left the feed in between (a busy feed rotating within
//     the TTL and a poll interval) is lost, as it would be if a single replica were down as long.
//   - The deterministic id and Nats-Msg-Id. The new leader's repeat keys hold everything in the
//     stream when it took over, so it does not publish again what was published. A publication
//     of the old leader still in flight when it stopped, stored after the new leader caught up,
//     is dropped by the stream's duplicate window (nats.duplicate_window, 1 h by default) when
//     the new leader publishes the same article.
//   - Beyond the duplicate window, the same article is stored twice only when a replica that
//     lacks its repeat key publishes it more than a window after the first copy: a standby that
//     was away longer than the stream keeps messages (nats.max_age; the follower logs that it
//     skipped ahead), or one whose state was lost and rebuilt from a stream that no longer holds
//     the article. Consumers can drop such a copy by its id.
//   - The NATS cluster keeping a majority: with two of three servers down, the lease can be
//     neither renewed nor taken, every leader stops, and nothing is polled until a majority is
//     back. Nothing is lost: the feeds still hold their items.
package cluster
