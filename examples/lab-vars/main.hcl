# A small lab sized by variables: N web guests, each with its own disk, on one network.

variable "prefix" {
  type        = string
  default     = "labvars"
  description = "Prefix of every libvirt object name."
}

variable "web_count" {
  type        = number
  default     = 2
  description = "How many web guests."
}

variable "subnet" {
  type    = string
  default = "192.168.151.0/24"
}

variable "pool_path" {
  type    = string
  default = "/var/lib/libvirt/labvars"
}

network "lab" {
  name = "${var.prefix}-net"
  mode = "nat"
  ipv4 = var.subnet
  dhcp {
    start = cidrhost(var.subnet, 10)
    end   = cidrhost(var.subnet, 99)
  }
}

pool "images" {
  name = "${var.prefix}-images"
  path = var.pool_path
}

volume "root" {
  count    = var.web_count
  name     = format("%s-web-%d.qcow2", var.prefix, count.index)
  pool     = pool.images
  capacity = "1GiB"
}

domain "web" {
  count  = var.web_count
  name   = "${var.prefix}-web-${count.index}"
  type   = "qemu"
  memory = "128MiB"
  power  = "stopped"
  disk {
    volume = volume.root[count.index]
  }
  interface {
    network = network.lab
  }
  description = templatefile("motd.j2", { index = count.index, network = network.lab.name })
}
