/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the manager: org.example.Tun1.Manager at /org/example/Tun1, with
 * the ObjectManager of the device objects below it. */

#define MANAGER_BUS_NAME "org.example.Tun1"
#define MANAGER_OBJECT_PATH "/org/example/Tun1"
#define MANAGER_INTERFACE "org.example.Tun1.Manager"

typedef struct Manager Manager;

int manager_bus_register(Manager *m);
