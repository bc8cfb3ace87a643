variable "name" {
  type = string
}

variable "pool" {}

volume "this" {
  name     = "${var.name}-disk"
  pool     = var.pool
  capacity = "1GiB"
}
