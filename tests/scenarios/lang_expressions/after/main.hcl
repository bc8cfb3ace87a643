variable "vms" {
  type = map(object({ memory = optional(string, "1GiB"), big = optional(bool, false) }))
  default = {
    web = {}
    db  = { big = true }
  }
}
locals {
  net    = "10.20.0.0/16"
  subnet = cidrsubnet(local.net, 8, 1)
  sizes  = { for name, vm in var.vms : name => vm.big ? "4GiB" : vm.memory }
  groups = { for name, vm in var.vms : (vm.big ? "big" : "small") => name... }
}
network "lab" {
  mode = "nat"
  ipv4 = local.subnet
  dhcp {
    start = cidrhost(local.subnet, 10)
    end   = cidrhost(local.subnet, 10 + length(var.vms) * 10)
  }
}
pool "images" {
  path = "/srv/${lower("IMAGES")}"
}
volume "disk" {
  for_each = local.sizes
  pool     = pool.images
  capacity = each.value
  name     = "${each.key}-%{ if each.value == "4GiB" }big%{ else }small%{ endif }.qcow2"
}
pool "extra" {
  count = length(local.groups["big"]) > 0 ? 1 : 0
  path  = "/srv/${join("-", sort(keys(local.groups)))}"
}
