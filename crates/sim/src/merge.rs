//! One world of the whole district from its shards', for the checks: each shard starts
//! from a copy of the set-up district (streets, communities, merchants and their services,
//! partners, care recipients, home services, lots, the owners' wallets) and changes only
//! what lies in its own streets; everything it creates afterwards (residents, demands,
//! reservations, bookings, ...) is its own. The merged world takes each set-up object from
//! the shard that owns its street and appends the shards' own objects in shard order,
//! renumbering the indices that point at them.

use crate::world::World;

/// A shard's world and the streets it owns.
pub struct Part<'a> {
    pub world: &'a World,
    pub streets: &'a [usize],
}

/// Where a shard's own objects land in the merged world: an index below the set-up count
/// is a set-up object (the same everywhere); one at or above it moves by `offset`.
#[derive(Clone, Copy)]
struct Shift {
    setup: usize,
    offset: usize,
}

impl Shift {
    fn of(self, index: usize) -> usize {
        if index < self.setup {
            index
        } else {
            index - self.setup + self.offset
        }
    }
}

/// The street each set-up resident belongs to: their community's, or for owners (who never
/// chose one) the street of the merchant or partner they own.
pub fn setup_resident_streets(world: &World, setup_residents: usize) -> Vec<Option<usize>> {
    let street_of = |c: usize| world.communities[c].street;
    let mut streets: Vec<Option<usize>> = world.residents[..setup_residents]
        .iter()
        .map(|r| r.community.map(street_of))
        .collect();
    for m in &world.merchants {
        if m.owner < setup_residents {
            streets[m.owner] = Some(street_of(m.community));
        }
    }
    for p in &world.partners {
        if p.owner < setup_residents {
            streets[p.owner] = Some(street_of(p.community));
        }
    }
    streets
}

/// The district's world: `base` is the set-up world (the coordinator's, whose sessions of
/// the admin and the staff are kept), `parts` the shards'.
pub fn merged(base: &World, parts: &[Part<'_>]) -> World {
    let owner = |street: usize| {
        parts
            .iter()
            .find(|p| p.streets.contains(&street))
            .unwrap_or(&parts[0])
            .world
    };
    let street_of = |c: usize| base.communities[c].street;
    let merchant_street = |m: usize| street_of(base.merchants[m].community);
    let mut w = World {
        district_id: base.district_id.clone(),
        admin: base.admin.clone(),
        streets: base.streets.clone(),
        communities: base.communities.clone(),
        categories: base.categories.clone(),
        ..World::default()
    };
    w.merchants = from_owners(
        &base.merchants,
        |m| street_of(m.community),
        &owner,
        |s| &s.merchants[..],
    );
    w.offers = from_owners(
        &base.offers,
        |o| merchant_street(o.merchant),
        &owner,
        |s| &s.offers[..],
    );
    w.care = from_owners(
        &base.care,
        |r| street_of(r.community),
        &owner,
        |s| &s.care[..],
    );
    w.home_services = from_owners(
        &base.home_services,
        |h| merchant_street(h.merchant),
        &owner,
        |s| &s.home_services[..],
    );
    w.partners = from_owners(
        &base.partners,
        |p| street_of(p.community),
        &owner,
        |s| &s.partners[..],
    );
    w.lots = from_owners(&base.lots, |l| l.street, &owner, |s| &s.lots[..]);
    let setup = base.residents.len();
    let streets = setup_resident_streets(base, setup);
    w.residents = (0..setup)
        .map(|r| streets[r].map_or(parts[0].world, owner).residents[r].clone())
        .collect();
    for part in parts {
        append(&mut w, part.world, setup);
    }
    w.registered = w.residents.len() - setup;
    w
}

/// Each set-up object of one kind as the shard owning its street has it: `kind` picks the
/// kind's objects out of a world.
fn from_owners<'a, T: Clone + 'a>(
    base: &[T],
    street_of: impl Fn(&T) -> usize,
    owner: &impl Fn(usize) -> &'a World,
    kind: impl Fn(&'a World) -> &'a [T],
) -> Vec<T> {
    base.iter()
        .enumerate()
        .map(|(i, object)| kind(owner(street_of(object)))[i].clone())
        .collect()
}

/// Appends a shard's own objects, renumbering what points at its residents, needs and
/// bookings.
fn append(w: &mut World, shard: &World, setup: usize) {
    let residents = Shift {
        setup,
        offset: w.residents.len(),
    };
    let needs = w.needs.len();
    let bookings = w.bookings.len();
    w.residents
        .extend(shard.residents[setup..].iter().cloned().map(|mut r| {
            r.unpaid_booking = r.unpaid_booking.map(|b| b + bookings);
            r
        }));
    w.demands.extend(shard.demands.iter().cloned().map(|mut d| {
        d.resident = residents.of(d.resident);
        d
    }));
    w.reservations
        .extend(shard.reservations.iter().cloned().map(|mut x| {
            x.resident = residents.of(x.resident);
            x
        }));
    w.activities
        .extend(shard.activities.iter().cloned().map(|mut a| {
            for attendee in &mut a.attendees {
                attendee.resident = residents.of(attendee.resident);
            }
            a
        }));
    w.help.extend(shard.help.iter().cloned().map(|mut h| {
        h.requester = residents.of(h.requester);
        h.helper = h.helper.map(|x| residents.of(x));
        h
    }));
    w.home_orders
        .extend(shard.home_orders.iter().cloned().map(|mut o| {
            o.resident = residents.of(o.resident);
            o
        }));
    w.bookings
        .extend(shard.bookings.iter().cloned().map(|mut b| {
            b.resident = residents.of(b.resident);
            b
        }));
    w.needs.extend(shard.needs.iter().cloned());
    w.projects
        .extend(shard.projects.iter().cloned().map(|mut p| {
            p.need += needs;
            p
        }));
    w.problems.extend(shard.problems.iter().cloned());
    w.awards.extend(shard.awards.iter().copied());
    w.redemptions.extend(shard.redemptions.iter().copied());
    w.expired.extend(shard.expired.iter().copied());
    w.parking_spent.extend(shard.parking_spent.iter().copied());
    // Spaces, their bookings and disclosures point at set-up objects (communities, streets,
    // partners) and server ids only: nothing to renumber.
    w.spaces.extend(shard.spaces.iter().cloned());
    w.space_bookings
        .extend(shard.space_bookings.iter().cloned());
    w.disclosure_requirements
        .extend(shard.disclosure_requirements.iter().cloned());
    w.disclosures.extend(shard.disclosures.iter().cloned());
}
