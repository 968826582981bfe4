package webdataset

import (
	"fmt"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is the layout's section (sink.webdataset).
type Config struct {
	ShardSize  int `mapstructure:"shard_size" doc:"the most samples a shard holds (0 = no limit but shard_bytes)"`
	ShardBytes int `mapstructure:"shard_bytes" doc:"the most bytes a shard holds (a shard is made in memory before it is stored, so this bounds memory too); a sample larger than it is a shard alone"`
}

// VideoSplitsKey keeps the split of each video (sink.split).
const VideoSplitsKey = ".vpipe/splits.json"

func init() {
	registry.Register(registry.Spec{
		Kind: registry.Layout,
		Name: "webdataset",
		Summary: "WebDataset tar shards: <split>/shard-NNNNNN.tar with <key>.<png|jpg|webp> and <key>.json (the " +
			"annotation and the frame's meta) per sample, in source order, and <split>/index.parquet; shards are " +
			"assembled when the run ends, and only the open one is rewritten on resume.",
		Config: func(registry.Kind) any {
			return &Config{ShardSize: DefaultShardSize, ShardBytes: DefaultShardBytes}
		},
		Check: func(conf any, _ registry.CheckEnv) []registry.Problem {
			c := conf.(*Config)
			var ps []registry.Problem
			if c.ShardSize < 0 {
				ps = append(ps, registry.Problem{Key: "shard_size", Msg: fmt.Sprintf("must be >= 0, got %d", c.ShardSize)})
			}
			if c.ShardBytes < 0 || (c.ShardBytes > 0 && c.ShardBytes < 1<<20) {
				ps = append(ps, registry.Problem{Key: "shard_bytes", Msg: fmt.Sprintf("must be 0 or at least 1048576 (1 MiB), got %d", c.ShardBytes)})
			}
			if c.ShardSize == 0 && c.ShardBytes == 0 {
				ps = append(ps, registry.Problem{Key: "shard_size", Msg: "shard_size and shard_bytes are both 0: give a shard a limit"})
			}
			return ps
		},
		SplitsKey: VideoSplitsKey,
		Written:   Written,
		NewLayout: func(st store.Store, conf any, o registry.LayoutOptions) (core.Sink, error) {
			c := conf.(*Config)
			return New(st, Options{ShardSize: c.ShardSize, ShardBytes: int64(c.ShardBytes), Split: o.Split}), nil
		},
	})
}
