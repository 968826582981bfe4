package local

// What other sinks that write this layout (sinks/s3) share with this one, so
// the same names are refused and the same bytes written.

// MarshalJSON writes JSON as this sink does (indent 4, no HTML escaping).
func MarshalJSON(v any) ([]byte, error) { return marshalIndent(v) }

// CheckName refuses an image or dataset name that is not a plain name.
func CheckName(name string) error { return checkName(name) }

// SameOutput compares a dataset's recorded output settings with a run's.
func SameOutput(have, want any) error { return sameOutput(have, want) }
