pool "images" {
  name = "lab-images"
  path = "/var/lib/kvmstate/images"
}

module "vm" {
  source   = "./vm"
  for_each = { web = "1GiB", db = "2GiB" }
  name     = "lab-${each.key}"
  pool     = pool.images
  size     = each.value
}

module "spare" {
  source     = "./vm"
  count      = 1
  name       = "spare-${count.index}"
  pool       = pool.images
  depends_on = [module.vm]
}

domain "monitor" {
  name   = "monitor"
  memory = "256MiB"
  disk {
    volume = module.vm["db"].root
  }
}
