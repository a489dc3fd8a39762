"""the close writes less: HOT order updates, one delivery index, no redundant tenant checks

- customer_order: no index key or predicate names `status` (the batch index is (tenant_id,
  batch_id); the unpaid-orders index is on "not paid, cancelled nor picked up", which a check
  constraint makes equivalent to PENDING_PAYMENT) and fillfactor 50, so the close's update of
  every order of a batch to CONFIRMED is HOT and writes no index entry. The fillfactor applies to
  pages written from now on; existing rows are not rewritten (that would lock the table).
- purchase_order_delivery: primary key (tenant_id, purchase_order_id, pickup_point_id,
  product_id) serves both the per-purchase-order reads and the pick-list view's per-point probes,
  so the second index goes.
- commission: one foreign key (tenant_id, order_id, batch_id, leader_id) to its order (new unique
  key customer_order_commission_key) instead of three to order, batch and leader: one check per
  commission written, and a commission's batch and leader are its order's.
- The single-column tenant_id -> tenant foreign key is dropped from the order and procurement
  tables: each has a composite (tenant_id, ...) foreign key to a tenant table that already proves
  the tenant exists, and each such check is a query per row written.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TENANT_FK_DROPPED = (
    "customer_order", "order_line", "offer_customer_quantity", "refund", "batch_close", "purchase_order",
    "purchase_order_line", "purchase_order_delivery", "pick_list", "commission",
)
COMMISSION_FKS = {
    "commission_tenant_id_order_id_fkey": ("customer_order", "order_id"),
    "commission_tenant_id_leader_id_fkey": ("leader", "leader_id"),
    "commission_tenant_id_batch_id_fkey": ("batch", "batch_id"),
}
UNPAID = "paid_at IS NULL AND cancelled_at IS NULL AND picked_up_at IS NULL"


def upgrade() -> None:
    for table in TENANT_FK_DROPPED:
        op.drop_constraint(f"{table}_tenant_id_fkey", table, type_="foreignkey")

    op.create_unique_constraint("customer_order_commission_key", "customer_order",
                                ["tenant_id", "id", "batch_id", "leader_id"])
    for name in COMMISSION_FKS:
        op.drop_constraint(name, "commission", type_="foreignkey")
    op.create_foreign_key("commission_order_fkey", "commission", "customer_order",
                          ["tenant_id", "order_id", "batch_id", "leader_id"],
                          ["tenant_id", "id", "batch_id", "leader_id"])

    op.drop_index("customer_order_batch_idx", table_name="customer_order")
    op.create_index("customer_order_batch_idx", "customer_order", ["tenant_id", "batch_id"])
    op.create_check_constraint("customer_order_unpaid_check", "customer_order",
                               f"status <> 'PENDING_PAYMENT' OR ({UNPAID})")
    op.drop_index("customer_order_unpaid_idx", table_name="customer_order")
    op.execute(f"CREATE INDEX customer_order_unpaid_idx ON customer_order (tenant_id, created_at) WHERE {UNPAID}")
    op.execute("ALTER TABLE customer_order SET (fillfactor = 50)")

    op.drop_index("purchase_order_delivery_point_idx", table_name="purchase_order_delivery")
    op.drop_constraint("purchase_order_delivery_pkey", "purchase_order_delivery", type_="primary")
    op.create_primary_key("purchase_order_delivery_pkey", "purchase_order_delivery",
                          ["tenant_id", "purchase_order_id", "pickup_point_id", "product_id"])


def downgrade() -> None:
    op.drop_constraint("purchase_order_delivery_pkey", "purchase_order_delivery", type_="primary")
    op.create_primary_key("purchase_order_delivery_pkey", "purchase_order_delivery",
                          ["tenant_id", "purchase_order_id", "product_id", "pickup_point_id"])
    op.create_index("purchase_order_delivery_point_idx", "purchase_order_delivery",
                    ["tenant_id", "pickup_point_id", "purchase_order_id"])

    op.execute("ALTER TABLE customer_order RESET (fillfactor)")
    op.drop_index("customer_order_unpaid_idx", table_name="customer_order")
    op.execute("CREATE INDEX customer_order_unpaid_idx ON customer_order (tenant_id, created_at) "
               "WHERE status = 'PENDING_PAYMENT'")
    op.drop_constraint("customer_order_unpaid_check", "customer_order", type_="check")
    op.drop_index("customer_order_batch_idx", table_name="customer_order")
    op.create_index("customer_order_batch_idx", "customer_order", ["tenant_id", "batch_id", "status"])

    op.drop_constraint("commission_order_fkey", "commission", type_="foreignkey")
    for name, (target, column) in COMMISSION_FKS.items():
        op.create_foreign_key(name, "commission", target, ["tenant_id", column], ["tenant_id", "id"])
    op.drop_constraint("customer_order_commission_key", "customer_order", type_="unique")

    for table in TENANT_FK_DROPPED:
        op.create_foreign_key(f"{table}_tenant_id_fkey", table, "tenant", ["tenant_id"], ["id"])
