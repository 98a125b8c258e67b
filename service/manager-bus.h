/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the manager: org.example.Tun1.Manager at /org/example/Tun1, with
 * the ObjectManager of the device objects below it. */

#include "manager.h"

#define MANAGER_OBJECT_PATH "/org/example/Tun1"
#define MANAGER_INTERFACE "org.example.Tun1.Manager"

/* For manager_new(): the objects and the device announcements. */
extern const ManagerOps manager_bus_ops;
