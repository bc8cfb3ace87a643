network "lab" {
  mode   = "nat"
  bridge = "ksbr-lab"
  ipv4   = "192.168.150.0/24"
  dhcp {
    start = "192.168.150.10"
    end   = "192.168.150.99"
  }
}

pool "images" {
  path = "/var/lib/kvmstate/images"
}

volume "web-root" {
  pool     = "images"
  capacity = "1GiB"
}

domain "web" {
  type   = "qemu"
  vcpu   = 1
  memory = "256MiB"
  disk {
    volume = "web-root"
  }
  interface {
    network = "lab"
  }
}
