/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the verbs share: the bus on first use, errors in words and as exit codes. */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "polkit-agent.h"
#include "tundctl.h"

int ctl_bus(Ctl *ctl, TundBus **ret) {
        int r;

        if (!ctl->bus) {
                /* Asking for a password needs someone at a terminal to answer. */
                bool interactive = ctl->ask_password && isatty(STDIN_FILENO);
                r = tund_bus_open(&ctl->bus, interactive);
                if (r < 0)
                        return ctl_fail(r, NULL, "Failed to connect to the system bus");
        }
        *ret = ctl->bus;
        return EXIT_OK;
}

int exit_code_from_errno(int r) {
        switch (-r) {
        case 0:
                return EXIT_OK;
        case EINVAL:
                return EXIT_INVALID;
        case ENODEV:
                return EXIT_NO_DEVICE;
        case EACCES:
        case EPERM:
                return EXIT_DENIED;
        case EEXIST:
                return EXIT_EXISTS;
        case EOPNOTSUPP:
                return EXIT_NOT_SUPPORTED;
        case EADDRNOTAVAIL:
        case ESRCH:
                return EXIT_NOT_FOUND;
        case EHOSTDOWN:
        case ECONNREFUSED:
        case ENOENT:
                return EXIT_NO_SERVICE;
        default:
                return EXIT_GENERIC;
        }
}

/* Words for the errors tundctl maps the service's answers to. */
static const char *describe(int r) {
        switch (-r) {
        case ENODEV:
                return "No such device";
        case EACCES:
                return "Access denied";
        case EHOSTDOWN:
                return "The tund service is not running";
        case EADDRNOTAVAIL:
                return "The device has no such address";
        case ESRCH:
                return "The device has no such route";
        default:
                return strerror(-r);
        }
}

int ctl_fail(int r, const sd_bus_error *error, const char *format, ...) {
        va_list ap;

        fputs("tundctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        if (error && sd_bus_error_is_set(error) && error->message && error->message[0])
                fprintf(stderr, ": %s\n", error->message);
        else
                fprintf(stderr, ": %s\n", describe(r));
        if (error && sd_bus_error_has_name(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                fputs("tundctl: This needs authentication; run it on a terminal without "
                      "--no-ask-password, or as a user polkit allows.\n", stderr);
        return exit_code_from_errno(r);
}

int ctl_resolve(Ctl *ctl, const char *device, char **ret_path, TundBus **ret_bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        TundBus *bus = NULL;
        int r;

        r = ctl_bus(ctl, &bus);
        if (r != EXIT_OK)
                return r;
        r = tund_bus_resolve(bus, device, ret_path, &error);
        if (r < 0) {
                r = r == -EINVAL && device[0] == '/' ?
                        ctl_fail(-EINVAL, NULL, "Invalid object path %s", device) :
                        ctl_fail(r, &error, "Failed to find device %s", device);
                sd_bus_error_free(&error);
                return r;
        }
        if (ret_bus)
                *ret_bus = bus;
        return EXIT_OK;
}

void ctl_agent_open(Ctl *ctl) {
        if (ctl->ask_password)
                (void) polkit_agent_open();
}

int block_exit_signals(void) {
        sigset_t s;

        sigemptyset(&s);
        sigaddset(&s, SIGINT);
        sigaddset(&s, SIGTERM);
        return sigprocmask(SIG_BLOCK, &s, NULL) < 0 ? negative_errno() : 0;
}

static sd_event_signal_handler_t verb_on_signal;

/* The first SIGINT or SIGTERM ends the verb; the rest are dropped: ignored, which discards
 * one already pending, and unblocked, as Linux keeps even an ignored signal pending while it
 * is blocked (a terminal's Ctrl-C and timeout(1) signal the whole process group too, so a
 * second one often follows). None is then left pending while tundctl cleans up and exits. */
static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        sigset_t exit_signals;

        (void) signal(SIGINT, SIG_IGN);
        (void) signal(SIGTERM, SIG_IGN);
        sigemptyset(&exit_signals);
        sigaddset(&exit_signals, SIGINT);
        sigaddset(&exit_signals, SIGTERM);
        (void) sigprocmask(SIG_UNBLOCK, &exit_signals, NULL);
        if (verb_on_signal)
                return verb_on_signal(s, si, userdata);
        return sd_event_exit(sd_event_source_get_event(s), EXIT_OK);
}

int ctl_event_new(sd_event **ret, sd_event_signal_handler_t on_signal, void *userdata) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        verb_on_signal = on_signal;
        r = block_exit_signals();
        if (r >= 0)
                r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, userdata);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, userdata);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(event);
        return 0;
}

void format_timestamp_now(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;
        char base[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf, size, "%s.%06ld", base, ts.tv_nsec / 1000);
}
