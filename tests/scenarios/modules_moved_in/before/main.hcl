pool "images" {
  path = "/var/lib/kvmstate/images"
}

volume "data" {
  name     = "data-disk"
  pool     = pool.images
  capacity = "1GiB"
}
