// Package cluster runs feedd as several replicas on a NATS cluster, one of them leading: the
// leader lease, the feed state in a key-value bucket, and following the article stream on a
// standby.
package cluster
