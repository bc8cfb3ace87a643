variable "vms" {
  type    = number
  default = 2
}

pool "images" {
  path = "/srv/images"
}

volume "root" {
  count    = var.vms
  name     = "root-${count.index}"
  pool     = pool.images
  capacity = "1GiB"
}

domain "web" {
  count = var.vms
  disk {
    volume = volume.root[count.index]
  }
}
