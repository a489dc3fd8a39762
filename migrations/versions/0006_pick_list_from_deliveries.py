"""pick lists read from the purchase orders' deliveries instead of a copy of them

Each product has one supplier, so a pick list's lines are exactly its point's deliveries: the
table held the same rows twice, written by every close. A view gives the same rows.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# security_invoker: the view applies the caller's row-level security (a view otherwise reads as
# its owner, which bypasses RLS).
PICK_LIST_LINE_VIEW = """
CREATE VIEW pick_list_line WITH (security_invoker = true) AS
SELECT pl.tenant_id, pl.id AS pick_list_id, d.product_id, l.product_name, l.unit, d.quantity
FROM pick_list pl
JOIN purchase_order po ON po.tenant_id = pl.tenant_id AND po.batch_id = pl.batch_id
JOIN purchase_order_delivery d ON d.tenant_id = po.tenant_id AND d.purchase_order_id = po.id
  AND d.pickup_point_id = pl.pickup_point_id
JOIN purchase_order_line l ON l.tenant_id = d.tenant_id AND l.purchase_order_id = d.purchase_order_id
  AND l.product_id = d.product_id
"""


def upgrade() -> None:
    op.drop_table("pick_list_line")
    op.create_index("purchase_order_delivery_point_idx", "purchase_order_delivery",
                    ["tenant_id", "pickup_point_id", "purchase_order_id"])
    op.execute(PICK_LIST_LINE_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW pick_list_line")
    op.drop_index("purchase_order_delivery_point_idx", table_name="purchase_order_delivery")
    op.create_table(
        "pick_list_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("pick_list_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="pick_list_line_quantity_check"),
        sa.ForeignKeyConstraint(["tenant_id", "pick_list_id"], ["pick_list.tenant_id", "pick_list.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "pick_list_id", "product_id"),
    )
