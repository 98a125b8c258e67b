/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Intrusive doubly linked lists of structs that hold `prev` and `next` pointers; the head
 * is a plain pointer to the first item (NULL when empty). */

#define LIST_PREPEND(head, item)                                        \
        do {                                                            \
                __typeof__(item) _item = (item);                        \
                _item->prev = NULL;                                     \
                _item->next = (head);                                   \
                if (_item->next)                                        \
                        _item->next->prev = _item;                      \
                (head) = _item;                                         \
        } while (0)

/* Walks the list: for the few lists kept in the order items came. */
#define LIST_APPEND(head, item)                                         \
        do {                                                            \
                __typeof__(item) _item = (item), _last = (head);        \
                _item->next = NULL;                                     \
                if (!_last) {                                           \
                        _item->prev = NULL;                             \
                        (head) = _item;                                 \
                        break;                                          \
                }                                                       \
                while (_last->next)                                     \
                        _last = _last->next;                            \
                _last->next = _item;                                    \
                _item->prev = _last;                                    \
        } while (0)

/* Harmless on an item that is in no list (prev and next NULL, not the head). */
#define LIST_REMOVE(head, item)                                         \
        do {                                                            \
                __typeof__(item) _item = (item);                        \
                if (_item->prev)                                        \
                        _item->prev->next = _item->next;                \
                else if ((head) == _item)                               \
                        (head) = _item->next;                           \
                if (_item->next)                                        \
                        _item->next->prev = _item->prev;                \
                _item->prev = _item->next = NULL;                       \
        } while (0)
