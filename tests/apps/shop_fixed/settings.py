import os
import tempfile

# A throwaway SQLite file unless the environment points the app elsewhere.
DATABASE_URL = os.environ.get("SHOP_DATABASE_URL") or "sqlite:///" + os.path.join(
    tempfile.mkdtemp(prefix="shop-"), "shop.db")
