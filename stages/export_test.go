package stages

// SetTestHook makes every stage call f with its name before it handles a value.
func SetTestHook(f func(stage string)) { testHook = f }
