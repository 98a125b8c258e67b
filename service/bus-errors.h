/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The errors of org.example.Tun1 beyond the standard ones. */

#define BUS_ERROR_EXISTS          "org.example.Tun1.Error.Exists"
#define BUS_ERROR_NO_SUCH_DEVICE  "org.example.Tun1.Error.NoSuchDevice"
#define BUS_ERROR_NO_SUCH_ADDRESS "org.example.Tun1.Error.NoSuchAddress"
#define BUS_ERROR_NO_SUCH_ROUTE   "org.example.Tun1.Error.NoSuchRoute"
#define BUS_ERROR_NOT_SUPPORTED   "org.example.Tun1.Error.NotSupported"
#define BUS_ERROR_LIMITS_EXCEEDED "org.example.Tun1.Error.LimitsExceeded"
