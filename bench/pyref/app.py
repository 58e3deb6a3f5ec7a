"""pyref: the Python reference stack bench/run measures beside the platform.

FastAPI + SQLAlchemy 1.4 (ORM, its connection pool, a session per request) on pymysql,
served by uvicorn with 2 workers, as shops of this kind are usually built (Debian's
python3-fastapi, python3-uvicorn, python3-sqlalchemy, python3-pymysql). It answers the same
queries as the platform's routes it is compared with, over its own copy of the demo
catalogue and stock (database bench_pyref, filled by bench/run):

  GET  /products/{id}                       a product by id (no cache)
  GET  /products?category=ID&sort=price     a category and its subtree, first page of 20, and the total
  GET  /products?q=TEXT&sort=price          full-text search, first page of 20, and the total
  POST /reservations {"product_id", "quantity"}
                                            one conditional UPDATE of the stock (reserve if enough), committed

Environment: PYREF_DB_URL (a SQLAlchemy URL). Run by bench/run; not part of the product.
"""
import os

from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, conint
from sqlalchemy import (BigInteger, Column, DateTime, Integer, Numeric, String, Text, create_engine, func,
                        select, text, update)
from sqlalchemy.orm import Session, declarative_base, sessionmaker

engine = create_engine(os.environ["PYREF_DB_URL"], pool_size=16, max_overflow=16, pool_pre_ping=False, future=True)
SessionLocal = sessionmaker(bind=engine, autoflush=False, future=True)
Base = declarative_base()


class Category(Base):
    __tablename__ = "categories"
    id = Column(BigInteger, primary_key=True)
    name = Column(String(100), nullable=False)
    slug = Column(String(120), nullable=False)
    parent_id = Column(BigInteger)


class Product(Base):
    __tablename__ = "products"
    id = Column(BigInteger, primary_key=True)
    sku = Column(String(64), nullable=False)
    name = Column(String(200), nullable=False)
    slug = Column(String(220), nullable=False)
    description = Column(Text, nullable=False)
    price = Column(BigInteger, nullable=False)
    currency = Column(String(3), nullable=False)
    category_id = Column(BigInteger)
    status = Column(String(16), nullable=False)
    images = Column(Text, nullable=False)
    attributes = Column(Text, nullable=False)
    rating_avg = Column(Numeric(3, 2), nullable=False)
    rating_count = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)


class Stock(Base):
    __tablename__ = "stock"
    product_id = Column(BigInteger, primary_key=True)
    on_hand = Column(Integer, nullable=False)
    reserved = Column(Integer, nullable=False)


class ReservationIn(BaseModel):
    product_id: conint(ge=1)
    quantity: conint(ge=1, le=1000)

    class Config:
        extra = "forbid"


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def product_out(p):
    return {"id": p.id, "sku": p.sku, "name": p.name, "slug": p.slug, "description": p.description,
            "price": p.price, "currency": p.currency, "category_id": p.category_id, "status": p.status,
            "rating_avg": float(p.rating_avg), "rating_count": p.rating_count,
            "created_at": p.created_at.isoformat(), "updated_at": p.updated_at.isoformat()}


app = FastAPI()


@app.get("/health")
def health(db: Session = Depends(get_db)):
    db.execute(text("SELECT 1"))
    return {"status": "ok"}


@app.get("/products/{product_id}")
def get_product(product_id: int, db: Session = Depends(get_db)):
    p = db.get(Product, product_id)
    if p is None or p.status != "active":
        raise HTTPException(status_code=404, detail="not found")
    return product_out(p)


SORTS = {"price": (Product.price, Product.id), "name": (Product.name, Product.id),
         "newest": (Product.created_at.desc(), Product.id.desc())}


@app.get("/products")
def list_products(category: int = Query(None, ge=1), q: str = Query(None, min_length=1, max_length=200),
                  sort: str = Query("price", regex="^(price|name|newest)$"), limit: int = Query(20, ge=1, le=100),
                  offset: int = Query(0, ge=0, le=100000), db: Session = Depends(get_db)):
    cond = [Product.status == "active"]
    if category is not None:
        sub = select(Category.id).where(Category.id == category).cte("sub", recursive=True)
        sub = sub.union_all(select(Category.id).join(sub, Category.parent_id == sub.c.id))
        cond.append(Product.category_id.in_(select(sub.c.id)))
    if q is not None:
        cond.append(text("MATCH (products.name, products.description) AGAINST (:q IN NATURAL LANGUAGE MODE)")
                    .bindparams(q=q))
    total = db.execute(select(func.count()).select_from(Product).where(*cond)).scalar_one()
    rows = db.execute(select(Product).where(*cond).order_by(*SORTS[sort])
                      .limit(limit).offset(offset)).scalars().all()
    return {"items": [product_out(p) for p in rows], "total": total, "limit": limit, "offset": offset}


@app.post("/reservations", status_code=201)
def reserve(body: ReservationIn, db: Session = Depends(get_db)):
    res = db.execute(update(Stock)
                     .where(Stock.product_id == body.product_id, Stock.on_hand - Stock.reserved >= body.quantity)
                     .values(reserved=Stock.reserved + body.quantity))
    db.commit()
    if res.rowcount != 1:
        raise HTTPException(status_code=409, detail="out of stock")
    return {"product_id": body.product_id, "quantity": body.quantity}
