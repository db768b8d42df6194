//! Orders enriched with their customers and products, totalled per customer and hour (issue
//! #14).
//!
//! Topics (every value is UTF-8 text with `|`-separated fields, so any producer can write them;
//! [`Text`] is their serde):
//!
//! - `orders`: key the order id, value an [`Order`], `customer|product|quantity` (`c1|p1|2`).
//!   Orders are keyed by their own id, as an order system writes them, so the topology rekeys
//!   them by customer before it joins the customers (and the runtime inserts the repartition
//!   topic Java would, `<application.id>-KSTREAM-KEY-SELECT-0000000005-repartition`).
//! - `customers`: a table, key the customer id, value a [`Customer`], `name|region`
//!   (`Alice|EU`); a null value deletes the customer.
//! - `products`: a global table (every instance reads all of it), key the product id, value a
//!   [`Product`], `name|unit price in cents` (`Widget|250`).
//! - the output: key the customer id and the hour (Java's `TimeWindowedSerde` layout: the id's
//!   bytes, then the window start as 8 big-endian bytes), value the hour's [`Totals`] so far,
//!   `customer name|orders|cents` (`Alice|2|1500`).
//!
//! The topology: `select_key` (customer id) → `left_join(customers)` (an order of a customer
//! the table does not hold yet still counts, under the name `unknown`) → `join(products)` with
//! the product id as the lookup key (an inner join: an order of an unknown product is dropped)
//! → the amount, quantity × the product's unit price at the time of the order → `group_by_key`
//! → `windowed_by(tumbling(1h))` → `aggregate` (orders and cents per customer and hour, every
//! update emitted; no grace, so an order for an hour that stream time has passed is dropped) →
//! `to_stream` → `to`. The joins read each table as it is when the order is processed: a later
//! customer or price change affects later orders only.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;
use streams_runtime::prelude::{DefaultSerde, Serde};
use streams_runtime::serde::{Encoded, SerdeError};

/// An order: `customer|product|quantity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The customer id (the key of `customers`).
    pub customer: String,
    /// The product id (the key of `products`).
    pub product: String,
    /// How many units.
    pub quantity: i64,
}

/// A customer: `name|region`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The customer's name.
    pub name: String,
    /// Where the customer is.
    pub region: String,
}

/// A product: `name|unit price in cents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The product's name.
    pub name: String,
    /// The price of one unit, in cents.
    pub unit_cents: i64,
}

/// An order after the customer join: `customer name|product|quantity` (the name `unknown` when
/// the customer was not in the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerOrder {
    /// The customer's name, or `unknown`.
    pub name: String,
    /// The product id.
    pub product: String,
    /// How many units.
    pub quantity: i64,
}

/// An order after the product join: `customer name|amount in cents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// The customer's name, or `unknown`.
    pub name: String,
    /// Quantity × unit price, in cents.
    pub cents: i64,
}

/// A customer's orders in one hour so far: `customer name|orders|cents`, the name as the
/// customer table had it at the hour's latest order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// The customer's name at the latest order, or `unknown`.
    pub name: String,
    /// How many orders.
    pub orders: i64,
    /// The orders' amounts added up, in cents.
    pub cents: i64,
}

/// The name an order's customer gets when the customer table has no row for it.
pub const UNKNOWN_CUSTOMER: &str = "unknown";

impl CustomerOrder {
    /// `order` of `customer` (`None`: not in the table).
    pub fn new(order: &Order, customer: Option<&Customer>) -> Self {
        CustomerOrder {
            name: customer.map_or(UNKNOWN_CUSTOMER, |c| c.name.as_str()).to_owned(),
            product: order.product.clone(),
            quantity: order.quantity,
        }
    }
}

impl Sale {
    /// `order` of `product`, at the product's current price.
    pub fn new(order: &CustomerOrder, product: &Product) -> Self {
        Sale {
            name: order.name.clone(),
            cents: order.quantity * product.unit_cents,
        }
    }
}

impl Totals {
    /// The totals with `sale` added.
    #[must_use]
    pub fn with(self, sale: Sale) -> Self {
        Totals {
            name: sale.name,
            orders: self.orders + 1,
            cents: self.cents + sale.cents,
        }
    }
}

/// Declares the orders topology as a struct reading `orders`, `customers` and `products` and
/// writing `output` (tests that share one broker each declare it over topics of their own).
#[macro_export]
macro_rules! orders_topology {
    (
        $(#[$attr:meta])* $vis:vis struct $name:ident {
            orders: $orders:tt, customers: $customers:tt, products: $products:tt, output: $output:tt $(,)?
        }
    ) => {
        ::streams_runtime::topology! {
            $(#[$attr])*
            $vis struct $name {
                stream orders { topic: $orders, key: String, value: $crate::orders::Order }
                table customers {
                    topic: $customers,
                    key: String,
                    value: $crate::orders::Customer,
                    store: "order-customers",
                }
                global_table products {
                    topic: $products,
                    key: String,
                    value: $crate::orders::Product,
                    store: "order-products",
                }
                orders
                    .select_key(|_, order| order.customer.clone())
                    .left_join(customers, |order, customer| $crate::orders::CustomerOrder::new(order, customer))
                    .join(products, |_, order| order.product.clone(), |order, product| $crate::orders::Sale::new(order, product))
                    .group_by_key()
                    .windowed_by(tumbling(1h))
                    .aggregate(
                        $crate::orders::Totals::default,
                        |_, sale, totals| totals.with(sale),
                        store: "order-totals-per-hour",
                    )
                    .to_stream()
                    .to($output);
            }
        }
    };
}

orders_topology! {
    /// `stream → select_key → (repartition) → left_join(table) → join(global table) →
    /// group_by_key → windowed_by(tumbling 1 h) → aggregate → to_stream → to`.
    pub struct Orders {
        orders: "orders",
        customers: "customers",
        products: "products",
        output: "order-totals-per-hour",
    }
}

/// A serde for values written as text: `T`'s `Display` form in UTF-8, read back with its
/// `FromStr`. What [`Order`], [`Customer`], [`Product`], [`CustomerOrder`], [`Sale`] and
/// [`Totals`] default to.
pub struct Text<T>(PhantomData<fn() -> T>);

impl<T> Default for Text<T> {
    fn default() -> Self {
        Text(PhantomData)
    }
}

impl<T> Clone for Text<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Text<T> {}

impl<T> fmt::Debug for Text<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text<{}>", std::any::type_name::<T>())
    }
}

impl<T: fmt::Display + FromStr<Err = String>> Serde<T> for Text<T> {
    fn serialize(&self, value: &T, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        use std::io::Write as _;
        write!(out, "{value}").map_err(|e| SerdeError::Custom(e.to_string()))?;
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<T, SerdeError> {
        let data = data.ok_or(SerdeError::UnexpectedNull {
            type_name: std::any::type_name::<T>(),
        })?;
        std::str::from_utf8(data)?.parse().map_err(SerdeError::Custom)
    }
}

/// The `N` `|`-separated fields of `s`, or why not.
fn fields<const N: usize>(s: &str, what: &str) -> Result<[String; N], String> {
    let parts: Vec<String> = s.split('|').map(str::to_owned).collect();
    parts
        .try_into()
        .map_err(|_| format!("{what}: expected {N} `|`-separated fields in {s:?}"))
}

fn number(s: &str, what: &str) -> Result<i64, String> {
    s.parse()
        .map_err(|e| format!("{what}: {s:?} is not a whole number: {e}"))
}

macro_rules! text_format {
    ($ty:ident, $what:literal, [$($field:ident: $kind:ident),*]) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let fields: &[&dyn fmt::Display] = &[$(&self.$field),*];
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    write!(f, "{field}")?;
                }
                Ok(())
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let [$($field),*] = fields(s, $what)?;
                Ok($ty { $($field: text_format!(@parse $kind, $field, $what)),* })
            }
        }

        impl DefaultSerde for $ty {
            type Serde = Text<$ty>;
        }
    };
    (@parse text, $field:ident, $what:literal) => { $field };
    (@parse number, $field:ident, $what:literal) => { number(&$field, $what)? };
}

text_format!(Order, "order", [customer: text, product: text, quantity: number]);
text_format!(Customer, "customer", [name: text, region: text]);
text_format!(Product, "product", [name: text, unit_cents: number]);
text_format!(CustomerOrder, "customer order", [name: text, product: text, quantity: number]);
text_format!(Sale, "sale", [name: text, cents: number]);
text_format!(Totals, "totals", [name: text, orders: number, cents: number]);
