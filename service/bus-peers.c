/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-peers.h"
#include "list.h"
#include "log.h"
#include "macro.h"

#define BUS_DRIVER "org.freedesktop.DBus"
#define BUS_DRIVER_PATH "/org/freedesktop/DBus"
#define BUS_ERROR_NAME_HAS_NO_OWNER "org.freedesktop.DBus.Error.NameHasNoOwner"

/* Calls of one peer that may wait for its uid; past that it is asked to slow down. */
#define PEER_WAITING_MAX 256u
/* How long a departed peer is remembered, so that its calls still queued (or dispatched
 * again after polkit answered) are refused rather than asked about anew. */
#define PEER_GONE_KEEP_USEC (60ull * 1000000ull)

typedef enum PeerState {
        PEER_ASKING,            /* GetConnectionUnixUser is on its way */
        PEER_KNOWN,
        PEER_NO_UID,            /* the bus gave no uid */
        PEER_LEAVING,           /* the bus said it left; GetNameOwner is on its way */
        PEER_GONE,
} PeerState;

typedef struct BusPeer BusPeer;

struct BusPeer {
        BusPeers *peers;
        char *name;
        PeerState state;
        uid_t uid;
        sd_bus_slot *slot;              /* the pending question about it */
        sd_bus_message **waiting;       /* its calls waiting for the uid */
        size_t n_waiting;
        uint64_t gone_usec;
        BusPeer *prev, *next;
};

struct BusPeers {
        sd_bus *bus;
        sd_bus_slot *match;
        BusPeerGone gone;
        void *userdata;
        BusPeer *list;
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void peer_drop_waiting(BusPeer *p) {
        for (size_t i = 0; i < p->n_waiting; i++)
                sd_bus_message_unref(p->waiting[i]);
        p->waiting = mfree(p->waiting);
        p->n_waiting = 0;
}

static BusPeer *peer_free(BusPeer *p) {
        if (!p)
                return NULL;
        LIST_REMOVE(p->peers->list, p);
        sd_bus_slot_unref(p->slot);
        peer_drop_waiting(p);
        free(p->name);
        free(p);
        return NULL;
}

static BusPeer *peer_find(BusPeers *peers, const char *name) {
        for (BusPeer *p = peers->list; p; p = p->next)
                if (strcmp(p->name, name) == 0)
                        return p;
        return NULL;
}

static void peers_forget_departed(BusPeers *peers) {
        uint64_t now = now_usec();
        BusPeer *next;

        for (BusPeer *p = peers->list; p; p = next) {
                next = p->next;
                if (p->state == PEER_GONE && now - p->gone_usec > PEER_GONE_KEEP_USEC)
                        peer_free(p);
        }
}

/* Its calls run again, now that its uid is known (or known to be unknown). */
static void peer_dispatch_waiting(BusPeer *p) {
        for (size_t i = 0; i < p->n_waiting; i++) {
                int r = sd_bus_enqueue_for_read(p->peers->bus, p->waiting[i]);
                if (r < 0)
                        log_error_errno(r, "Failed to dispatch a call of %s again: %m", p->name);
        }
        peer_drop_waiting(p);
}

static int peer_handle_uid(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusPeer *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t uid;
        int r;

        p->slot = sd_bus_slot_unref(p->slot);
        if (e) {
                log_debug("The bus did not say who %s is: %s", p->name, e->message);
                p->state = PEER_NO_UID;
        } else if ((r = sd_bus_message_read(reply, "u", &uid)) < 0) {
                log_warning_errno(r, "Failed to read the uid of %s: %m", p->name);
                p->state = PEER_NO_UID;
        } else {
                p->state = PEER_KNOWN;
                p->uid = (uid_t) uid;
        }
        peer_dispatch_waiting(p);
        return 0;
}

static int peer_ask_uid(BusPeer *p) {
        return sd_bus_call_method_async(p->peers->bus, &p->slot, BUS_DRIVER, BUS_DRIVER_PATH,
                                        BUS_DRIVER, "GetConnectionUnixUser",
                                        peer_handle_uid, p, "s", p->name);
}

static int peer_add_waiting(BusPeer *p, sd_bus_message *m) {
        sd_bus_message **a;

        if (p->n_waiting >= PEER_WAITING_MAX)
                return -EBUSY;
        a = realloc(p->waiting, (p->n_waiting + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        p->waiting = a;
        p->waiting[p->n_waiting++] = sd_bus_message_ref(m);
        return 0;
}

static int peer_new(BusPeers *peers, const char *name, BusPeer **ret) {
        BusPeer *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->peers = peers;
        p->state = PEER_ASKING;
        p->name = strdup(name);
        if (!p->name) {
                free(p);
                return -ENOMEM;
        }
        LIST_PREPEND(peers->list, p);

        r = peer_ask_uid(p);
        if (r < 0) {
                peer_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int bus_peers_get_uid(BusPeers *peers, sd_bus_message *m, uid_t *ret, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(m);
        BusPeer *p;
        int r;

        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "The call carries no sender, so tund cannot tell who is calling.");

        peers_forget_departed(peers);
        p = peer_find(peers, sender);
        if (!p) {
                r = peer_new(peers, sender, &p);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Could not ask the bus who is calling: %m");
        }

        switch (p->state) {
        case PEER_KNOWN:
                *ret = p->uid;
                return 1;
        case PEER_ASKING:
                r = peer_add_waiting(p, m);
                if (r == -EBUSY)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                 "Too many calls at once from %s; wait for the answers.", sender);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Could not queue the call: %m");
                return 0;
        case PEER_NO_UID:
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "The bus did not say which user is calling; refusing the call.");
        case PEER_LEAVING:
        case PEER_GONE:
        default:
                return sd_bus_error_set(error, SD_BUS_ERROR_DISCONNECTED, "The caller left the bus.");
        }
}

static void peer_gone(BusPeer *p) {
        BusPeers *peers = p->peers;

        p->state = PEER_GONE;
        p->gone_usec = now_usec();
        if (peers->gone)
                peers->gone(p->name, peers->userdata);
}

static int peer_handle_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusPeer *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        p->slot = sd_bus_slot_unref(p->slot);
        if (e && !sd_bus_error_has_name(e, BUS_ERROR_NAME_HAS_NO_OWNER))
                log_warning("Could not confirm that %s left the bus (%s); taking the bus's word for it.",
                            p->name, e->message);
        if (!e) {
                /* Never for a unique name the bus said is gone; look again at who it is. */
                log_warning("%s was reported gone, but the bus still knows it.", p->name);
                p->state = PEER_ASKING;
                if (peer_ask_uid(p) < 0)
                        p->state = PEER_NO_UID;
                return 0;
        }
        peer_gone(p);
        return 0;
}

static void peer_leaving(BusPeer *p) {
        int r;

        p->slot = sd_bus_slot_unref(p->slot);
        peer_drop_waiting(p);           /* nobody is there to answer */
        p->state = PEER_LEAVING;

        r = sd_bus_call_method_async(p->peers->bus, &p->slot, BUS_DRIVER, BUS_DRIVER_PATH,
                                     BUS_DRIVER, "GetNameOwner",
                                     peer_handle_name_owner, p, "s", p->name);
        if (r < 0) {
                log_warning_errno(r, "Could not confirm that %s left the bus, taking the bus's word for it: %m", p->name);
                peer_gone(p);
        }
}

static int on_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        const char *sender = sd_bus_message_get_sender(message);
        const char *name, *old_owner, *new_owner;
        BusPeers *peers = userdata;
        BusPeer *p;
        int r;

        /* Any peer may send a signal of this name, to tund alone or to everyone; only the
         * bus driver's is news. */
        if (!sender || strcmp(sender, BUS_DRIVER) != 0) {
                log_debug("Ignoring a NameOwnerChanged signal sent by %s, not by the bus.", strna(sender));
                return 0;
        }
        r = sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner);
        if (r < 0) {
                log_debug_errno(r, "Ignoring a malformed NameOwnerChanged: %m");
                return 0;
        }
        if (name[0] != ':' || new_owner[0] != '\0')
                return 0;

        peers_forget_departed(peers);
        p = peer_find(peers, name);
        if (p && p->state != PEER_LEAVING && p->state != PEER_GONE)
                peer_leaving(p);
        return 0;
}

int bus_peers_new(BusPeers **ret, sd_bus *bus, BusPeerGone gone, void *userdata) {
        _cleanup_(bus_peers_freep) BusPeers *peers = NULL;
        int r;

        peers = calloc(1, sizeof(*peers));
        if (!peers)
                return -ENOMEM;
        peers->bus = sd_bus_ref(bus);
        peers->gone = gone;
        peers->userdata = userdata;

        /* One match for every peer: the bus limits a connection's matches (512). */
        r = sd_bus_match_signal(bus, &peers->match, BUS_DRIVER, BUS_DRIVER_PATH, BUS_DRIVER,
                                "NameOwnerChanged", on_name_owner_changed, peers);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(peers);
        return 0;
}

BusPeers *bus_peers_free(BusPeers *peers) {
        if (!peers)
                return NULL;
        while (peers->list)
                peer_free(peers->list);
        sd_bus_slot_unref(peers->match);
        sd_bus_unref(peers->bus);
        free(peers);
        return NULL;
}
