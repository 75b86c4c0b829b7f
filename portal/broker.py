"""kombu's filesystem transport, with messages that appear whole.

The embedded default broker (no server) is kombu's filesystem transport. Its `_put`
creates the message file and only then writes it, so a worker polling the folder can
take the file in between and read an empty message (JSONDecodeError: the worker dies
with "Unrecoverable error"). Here a message is written under a name the reader skips
and renamed into place, which is atomic on one filesystem.
"""

import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "portalfs"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # The reader takes only "<stamp>.<queue>.msg"; a leading dot hides it until renamed.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
        os.replace(partial, final)


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES[ALIAS] = "portal.broker:Transport"
