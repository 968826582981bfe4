package webdataset

import "time"

// SetLeaseTimings shortens the lease's timings for a test; restore puts them back.
func SetLeaseTimings(ttl, poll, renew time.Duration) (restore func()) {
	t, p, r := leaseTTL, leasePoll, leaseRenew
	leaseTTL, leasePoll, leaseRenew = ttl, poll, renew
	return func() { leaseTTL, leasePoll, leaseRenew = t, p, r }
}
