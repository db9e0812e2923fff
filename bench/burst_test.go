package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// The Docker side of BenchmarkLatency: bursts of container events on the
// machine's default daemon, made through the Engine API (faster than one
// docker CLI process per container, so that the events come as a burst).

// burstPrefix starts the names of every container a burst creates.
const burstPrefix = "bench-lat-"

// burstWorkers is how many API calls a burst has in flight at once.
const burstWorkers = 4

func dockerClient(b testing.TB) *client.Client {
	b.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		removeBurstLeftovers(cli)
		cli.Close()
	})
	return cli
}

// burst creates n containers from image, named prefix-0..n-1, then removes
// them: 2n container events (create, destroy) in quick succession. It
// returns the first error.
func burst(ctx context.Context, cli *client.Client, image, prefix string, n int) error {
	ids := make([]string, n)
	err := testdocker.Parallel(n, burstWorkers, func(i int) error {
		r, err := cli.ContainerCreate(ctx, &container.Config{Image: image}, nil, nil, nil, fmt.Sprintf("%s-%d", prefix, i))
		ids[i] = r.ID
		return err
	})
	if err != nil {
		return err
	}
	return testdocker.Parallel(n, burstWorkers, func(i int) error {
		return cli.ContainerRemove(ctx, ids[i], container.RemoveOptions{Force: true})
	})
}

// removeBurstLeftovers removes the containers a failed burst left behind.
func removeBurstLeftovers(cli *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", burstPrefix))})
	if err != nil {
		return
	}
	for _, c := range list {
		cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
}
