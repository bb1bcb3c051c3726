// fake-gpu-plugin advertises emulated GPUs to the kubelet through the device-plugin API
// (k8s.io/kubelet deviceplugin v1beta1), so the kubelet itself does the accounting: node
// allocatable, scheduling, and handing devices to containers. It is what run:ai's
// fake-gpu-operator does, cut down to what the readiness harness needs:
//
//   - N devices per node (GPU_COUNT), resource RESOURCE_NAME (default nvidia.com/gpu);
//   - Allocate gives a container NVIDIA_VISIBLE_DEVICES=<ids> and mounts the node folder where
//     this plugin writes one health file per device, so the process in the container sees
//     which of its GPUs are healthy;
//   - "GPU loss": POST /health {"healthy": false} (optionally "devices": [...]) on the control
//     port marks devices unhealthy; ListAndWatch tells the kubelet (allocatable drops) and the
//     health files tell the containers. {"healthy": true} heals them. GET /devices lists them.
//
// Written by hand because no maintained fake device plugin is available as a Go module.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

const containerHealthDir = "/run/harness-gpu"

type plugin struct {
	pluginapi.UnimplementedDevicePluginServer
	resource string
	stateDir string // inside this container (hostPath mount)
	hostDir  string // the same folder on the node, for the container mounts Allocate returns
	mu       sync.Mutex
	devices  []*pluginapi.Device
	changed  chan struct{} // closed and replaced on every health change
	socket   string
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func newPlugin() *plugin {
	count, err := strconv.Atoi(env("GPU_COUNT", "4"))
	if err != nil || count < 0 {
		log.Fatalf("GPU_COUNT must be a non-negative integer, got %q", os.Getenv("GPU_COUNT"))
	}
	node := env("NODE_NAME", "node")
	p := &plugin{
		resource: env("RESOURCE_NAME", "nvidia.com/gpu"),
		stateDir: env("STATE_DIR", "/var/lib/harness-gpu"),
		hostDir:  env("HOST_STATE_DIR", "/var/lib/harness-gpu"),
		changed:  make(chan struct{}),
		socket:   filepath.Join(pluginapi.DevicePluginPath, "harness-fake-gpu.sock"),
	}
	for i := 0; i < count; i++ {
		p.devices = append(p.devices, &pluginapi.Device{ID: fmt.Sprintf("GPU-%s-%d", node, i), Health: pluginapi.Healthy})
	}
	p.writeHealthFiles()
	return p
}

// writeHealthFiles writes <stateDir>/<device id> = "Healthy" | "Unhealthy" (atomically).
func (p *plugin) writeHealthFiles() {
	if err := os.MkdirAll(p.stateDir, 0o755); err != nil {
		log.Printf("state dir: %v", err)
		return
	}
	for _, d := range p.devices {
		tmp := filepath.Join(p.stateDir, "."+d.ID)
		if err := os.WriteFile(tmp, []byte(d.Health+"\n"), 0o644); err == nil {
			_ = os.Rename(tmp, filepath.Join(p.stateDir, d.ID))
		}
	}
}

func (p *plugin) snapshot() ([]*pluginapi.Device, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*pluginapi.Device, len(p.devices))
	for i, d := range p.devices {
		out[i] = &pluginapi.Device{ID: d.ID, Health: d.Health}
	}
	return out, p.changed
}

func (p *plugin) setHealth(healthy bool, ids []string) []*pluginapi.Device {
	want := pluginapi.Unhealthy
	if healthy {
		want = pluginapi.Healthy
	}
	selected := map[string]bool{}
	for _, id := range ids {
		selected[id] = true
	}
	p.mu.Lock()
	for _, d := range p.devices {
		if len(ids) == 0 || selected[d.ID] {
			d.Health = want
		}
	}
	p.writeHealthFiles()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	devices, _ := p.snapshot()
	log.Printf("health: %s for %v", want, ids)
	return devices
}

func (p *plugin) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{}, nil
}

func (p *plugin) ListAndWatch(_ *pluginapi.Empty, stream pluginapi.DevicePlugin_ListAndWatchServer) error {
	for {
		devices, changed := p.snapshot()
		if err := stream.Send(&pluginapi.ListAndWatchResponse{Devices: devices}); err != nil {
			return err
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return nil
		}
	}
}

func (p *plugin) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	resp := &pluginapi.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		log.Printf("allocate %v", c.DevicesIds)
		resp.ContainerResponses = append(resp.ContainerResponses, &pluginapi.ContainerAllocateResponse{
			Envs: map[string]string{
				"NVIDIA_VISIBLE_DEVICES": strings.Join(c.DevicesIds, ","),
				"HARNESS_GPU_HEALTH_DIR": containerHealthDir,
			},
			Mounts: []*pluginapi.Mount{{ContainerPath: containerHealthDir, HostPath: p.hostDir, ReadOnly: true}},
		})
	}
	return resp, nil
}

func (p *plugin) GetPreferredAllocation(context.Context, *pluginapi.PreferredAllocationRequest) (*pluginapi.PreferredAllocationResponse, error) {
	return &pluginapi.PreferredAllocationResponse{}, nil
}

func (p *plugin) PreStartContainer(context.Context, *pluginapi.PreStartContainerRequest) (*pluginapi.PreStartContainerResponse, error) {
	return &pluginapi.PreStartContainerResponse{}, nil
}

// serve starts the gRPC server on our socket and registers with the kubelet.
func (p *plugin) serve() (*grpc.Server, error) {
	_ = os.Remove(p.socket)
	listener, err := net.Listen("unix", p.socket)
	if err != nil {
		return nil, err
	}
	server := grpc.NewServer()
	pluginapi.RegisterDevicePluginServer(server, p)
	go func() { _ = server.Serve(listener) }()
	conn, err := grpc.NewClient("unix://"+pluginapi.KubeletSocket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		server.Stop()
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = pluginapi.NewRegistrationClient(conn).Register(ctx, &pluginapi.RegisterRequest{
		Version: pluginapi.Version, Endpoint: filepath.Base(p.socket), ResourceName: p.resource,
	})
	if err != nil {
		server.Stop()
		return nil, err
	}
	log.Printf("registered %s with the kubelet (%d devices)", p.resource, len(p.devices))
	return server, nil
}

func (p *plugin) control(addr string) {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, devices []*pluginapi.Device) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": p.resource, "devices": devices})
	}
	mux.HandleFunc("/devices", func(w http.ResponseWriter, _ *http.Request) {
		devices, _ := p.snapshot()
		reply(w, devices)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST {\"healthy\": bool, \"devices\": [ids]}", http.StatusMethodNotAllowed)
			return
		}
		var body struct {
			Healthy *bool    `json:"healthy"`
			Devices []string `json:"devices"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Healthy == nil {
			http.Error(w, "body must be {\"healthy\": true|false, \"devices\": [optional ids]}", http.StatusBadRequest)
			return
		}
		reply(w, p.setHealth(*body.Healthy, body.Devices))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	log.Fatal(http.ListenAndServe(addr, mux))
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	p := newPlugin()
	go p.control(env("CONTROL_ADDR", ":9400"))
	for {
		server, err := p.serve()
		if err != nil {
			log.Printf("register: %v (retrying)", err)
			time.Sleep(2 * time.Second)
			continue
		}
		// the kubelet removes plugin sockets when it restarts: register again then
		for {
			time.Sleep(2 * time.Second)
			if _, err := os.Stat(p.socket); err != nil {
				log.Printf("socket gone (kubelet restarted?): registering again")
				server.Stop()
				break
			}
		}
	}
}
