pool "images" {
  path = "/var/lib/kvmstate/images"
}

module "store" {
  source = "./disk"
  name   = "data"
  pool   = pool.images
}

moved {
  from = volume.data
  to   = module.store.volume.this
}
