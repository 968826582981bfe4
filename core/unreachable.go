package core

import "errors"

// Unreachable tells an error of a call whose server stopped answering (it
// got no answer on its last attempt, or was not sent because of that): the
// run stops rather than have every video pay the retry budget again.
func Unreachable(err error) bool {
	var u interface{ Unreachable() bool }
	return errors.As(err, &u) && u.Unreachable()
}
