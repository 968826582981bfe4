package main_test

import "regexp"

func regexpLine(s, re string) bool { return regexp.MustCompile(re).MatchString(s) }
