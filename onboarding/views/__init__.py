"""The portal's pages: function-based views, one module per page or step family."""
